import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { CONFIG_KEYS } from '../../src/core/config.js';
import { RecordingWriter } from '../../src/recorder/recording-writer.js';
import { requireBinary } from '../helpers/binaries.js';
import { makeTempDir } from '../helpers/temp-dir.js';

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

  it("reads a byte recording with the section's Python reader, as an auditor would without Custos", async () => {
    const python = requireBinary('python3', 'apt-get install -y python3');
    const code = /```python\n([^]*?)```/.exec(section('### Byte recordings'))?.[1];
    expect(code, 'the byte recordings section has a Python reader').toBeTruthy();
    expect(code!.trim().split('\n').length).toBeLessThanOrEqual(10);
    const temp = makeTempDir('creadme-');
    try {
      const path = join(temp.path, 'x.bytes');
      const writer = new RecordingWriter();
      const recorder = await writer.open({
        path,
        format: 'bytes',
        header: {
          version: 1,
          timestamp: 0,
          command: 'pg_dump -Fc',
          custos: {
            sessionId: 'ses_readme',
            channelId: 1,
            channelKind: 'exec',
            protocol: 'ssh',
            identity: { name: 'alice', kind: 'human', owner: null },
            credential: 'ssh-key:SHA256:x',
            target: 'db1',
            login: 'postgres',
            grant: null,
            node: 'n',
            clientAddr: null,
            recordInput: true,
            pty: false,
          },
        },
        recordInput: true,
        onFailure: () => undefined,
      });
      const stdout = randomBytes(300_000);
      recorder.input(Buffer.from('ignored by the reader'));
      recorder.output(stdout.subarray(0, 100_000));
      recorder.output(Buffer.from('a warning\n'), 'stderr');
      recorder.output(stdout.subarray(100_000));
      await recorder.close({ code: 0, signal: null });
      await writer.stop();
      const script = join(temp.path, 'read.py');
      writeFileSync(script, code!);
      const run = spawnSync(python, [script, path]);
      expect(run.status, run.stderr.toString()).toBe(0);
      expect(run.stdout.equals(stdout)).toBe(true);
      expect(run.stderr.toString()).toBe("{'code': 0, 'signal': None}\n");
    } finally {
      temp.remove();
    }
  });
});
