import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { CONFIG_KEYS } from '../../src/core/config.js';

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

/** The README section that starts at `heading` and ends at the next heading of the same level. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, `README has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const level = heading.split(' ')[0]!;
  const end = README.indexOf(`\n${level} `, start + heading.length + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Leaf commands with their full names ("token create") and their options' flags (long, and short if any). */
function leafCommands(command: Command, prefix: string[] = []): Array<{ name: string; options: string[][] }> {
  const path = command.parent ? [...prefix, command.name()] : prefix;
  if (command.commands.length > 0) return command.commands.flatMap((child) => leafCommands(child, path));
  const options = command.options
    .filter((option) => option.long !== '--config')
    .map((option) => [option.long, option.short].filter((flag): flag is string => !!flag));
  return [{ name: path.join(' '), options }];
}

describe('README', () => {
  it('documents every configuration key with its environment variable', () => {
    const table = section('## Configuration (`custos.yaml`)');
    const missing = CONFIG_KEYS.filter((key) => !table.includes(`\`${key.path}\``) || !table.includes(key.env.replace(/^CUSTOS_TLS_(KEY|CA)$/, '_$1')));
    expect(missing.map((key) => key.path)).toEqual([]);
  });

  it('lists every CLI command and option in the CLI reference', () => {
    const reference = section('## CLI reference');
    const rows = reference.split('\n').filter((line) => line.startsWith('| `custos '));
    const gaps: string[] = [];
    for (const command of leafCommands(buildProgram())) {
      const row = rows.find((line) => line.startsWith(`| \`custos ${command.name} `) || line.startsWith(`| \`custos ${command.name}\``));
      if (!row) {
        gaps.push(`custos ${command.name}`);
        continue;
      }
      for (const flags of command.options) if (!flags.some((flag) => row.includes(`${flag} `) || row.includes(`${flag}]`))) gaps.push(`custos ${command.name} ${flags[0]}`);
    }
    expect(gaps).toEqual([]);
  });
});
