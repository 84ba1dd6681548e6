import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ChangeSummary } from '../../policy/resource-plan.js';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { safeText } from '../safe-text.js';
import { formatTable } from '../table.js';

interface ResourceDocument {
  kind: string;
  name: string;
  spec: Record<string, unknown>;
}

export function registerResources(program: Command): void {
  withConfigOption(program.command('apply'))
    .description('create, update (and with --prune delete) resources declared in YAML files, in one transaction')
    .requiredOption('-f, --file <file...>', 'resources file(s); - reads standard input')
    .option('--reason <text>', 'why: recorded with every change in the audit log')
    .option('--prune', 'delete resources of the applied kinds that the files no longer declare')
    .option('--dry-run', 'show what would change without changing anything')
    .action(async (options: { file: string[]; reason?: string; prune?: boolean; dryRun?: boolean }, command: Command) => {
      const files = await Promise.all(
        options.file.map(async (path) => ({ source: path, text: path === '-' ? await readStdin() : await readResourceFile(path) })),
      );
      const result = (await runCliOperation(configFor(command), 'apply', {
        files,
        reason: options.reason,
        prune: options.prune === true,
        dryRun: options.dryRun === true,
      })) as { changes: ChangeSummary[]; applied: boolean };
      const verb: Record<ChangeSummary['action'], string> = { create: 'created', update: 'configured', delete: 'deleted', unchanged: 'unchanged' };
      for (const change of result.changes) {
        print(safeText`${change.kind}/${change.name} ${verb[change.action]}${options.dryRun && change.action !== 'unchanged' ? ' (dry run)' : ''}`);
      }
    });

  withConfigOption(program.command('get'))
    .description('list resources of a kind (target, identity, role), or show one')
    .argument('<kind>', 'target | identity | role')
    .argument('[name]', 'one resource')
    .option('-o, --output <format>', 'table | yaml | json', 'table')
    .action(async (kind: string, name: string | undefined, options: { output: string }, command: Command) => {
      const docs = (await runCliOperation(configFor(command), 'get', { kind, name })) as ResourceDocument[];
      if (options.output === 'json') print(JSON.stringify(name ? docs[0] : docs, null, 2));
      else if (options.output === 'yaml') print(docs.map((doc) => stringify(doc)).join('---\n'));
      else if (options.output === 'table') print(resourceTable(docs));
      else throw new CliError('usage', `unknown output format "${options.output}" (table, yaml, json)`);
    });

  withConfigOption(program.command('delete'))
    .description('delete a resource (refused while other resources still refer to it)')
    .argument('<kind>', 'target | identity | role')
    .argument('<name>')
    .option('--reason <text>', 'why: recorded in the audit log')
    .action(async (kind: string, name: string, options: { reason?: string }, command: Command) => {
      const result = (await runCliOperation(configFor(command), 'delete', { kind, name, reason: options.reason })) as {
        changes: ChangeSummary[];
      };
      for (const change of result.changes) print(safeText`${change.kind}/${change.name} deleted`);
    });
}

function resourceTable(docs: ResourceDocument[]): string {
  const kind = docs[0]?.kind;
  const list = (value: unknown) => (Array.isArray(value) && value.length ? value.join(',') : '-');
  const labels = (value: unknown) =>
    Object.entries((value as Record<string, unknown>) ?? {})
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
      .join(',');
  if (kind === 'target') {
    return formatTable(
      ['NAME', 'PROTOCOL', 'ADDRESS', 'LABELS'],
      docs.map((d) => [d.name, d.spec.protocol as string, d.spec.address as string, labels(d.spec.labels)]),
    );
  }
  if (kind === 'identity') {
    return formatTable(
      ['NAME', 'KIND', 'OWNER', 'ROLES', 'SSH KEYS'],
      docs.map((d) => [d.name, d.spec.kind as string, (d.spec.owner as string) ?? '-', list(d.spec.roles), (d.spec.sshKeys as unknown[]).length]),
    );
  }
  if (kind === 'role') {
    return formatTable(
      ['NAME', 'TARGETS', 'LOGINS', 'DB USERS', 'KUBE GROUPS', 'TTL'],
      docs.map((d) => [d.name, labels(d.spec.targets), list(d.spec.logins), list(d.spec.dbUsers), list(d.spec.kubeGroups), d.spec.maxSessionTTL as string]),
    );
  }
  return 'No resources found.\n';
}

async function readResourceFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('usage', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
