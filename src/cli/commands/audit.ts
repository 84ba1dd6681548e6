import type { Command } from 'commander';
import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import { auditRecordLine } from '../../recorder/audit-record.js';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { formatTable, shortTime } from '../table.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log: permission changes, access decisions, sessions');

  withConfigOption(audit.command('ls'))
    .description('list audit events, oldest first')
    .option('--since <when>', 'a duration back from now (24h) or a timestamp', '24h')
    .option('--until <when>', 'a duration back from now or a timestamp')
    .option('--identity <name>', 'events about this identity')
    .option('--type <type>', 'an event type (resource.update) or a prefix ending in . (resource.)')
    .option('--session <id>', 'events of one session')
    .option('--limit <n>', 'at most this many (the newest)', '1000')
    .option('--format <format>', 'table | jsonl (the custos.audit/1 records; json is the same)', 'table')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      const events = (await runCliOperation(configFor(command), 'audit.list', {
        since: options.since,
        until: options.until,
        identity: options.identity,
        type: options.type,
        session: options.session,
        limit: Number(options.limit),
      })) as ChainedAuditEvent[];
      if (options.format === 'jsonl' || options.format === 'json') {
        process.stdout.write(events.map(auditRecordLine).join(''));
        return;
      }
      if (options.format !== 'table') throw new CliError('usage', `unknown format "${options.format}" (table, jsonl)`);
      print(
        formatTable(
          ['SEQ', 'TIME', 'TYPE', 'ACTOR', 'IDENTITY', 'TARGET', 'DETAILS'],
          events.map((e) => [e.seq, shortTime(e.time), e.type, e.actor, e.identity, e.target, summarize(e)]),
        ),
      );
    });
}

/** One line about an event for the table; `--format json` has everything. */
export function summarize(event: ChainedAuditEvent): string {
  const data = event.data as Record<string, unknown>;
  const reason = data.reason ? ` (reason: ${String(data.reason)})` : '';
  if (event.type.startsWith('resource.')) {
    const changes = (data.changes as Array<{ path: string; before: unknown; after: unknown }> | undefined) ?? [];
    const fields =
      event.type === 'resource.update'
        ? ': ' + changes.map((c) => `${c.path} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`).join('; ')
        : '';
    return `${String(data.kind)}/${String(data.name)}${fields}${reason}`;
  }
  if (event.type.startsWith('permission.')) return `role ${String(data.role)}${data.via ? ` (${String(data.via)})` : ''}${reason}`;
  if (event.type.startsWith('token.')) return `token ${String(data.tokenId)}${data.expiresAt ? ` expires ${String(data.expiresAt)}` : ''}${reason}`;
  if (event.type.startsWith('access.')) return `${(data.action as { kind?: string })?.kind ?? ''}: ${String(data.reason)}`;
  if (event.type === 'auth.failure') return `${String(data.protocol)} from ${String(data.clientAddr ?? '?')}: ${String(data.reason)}`;
  if (event.type.startsWith('session.')) return `${String(data.protocol ?? '')} ${data.login ? `login ${String(data.login)}` : ''}${data.reason ? String(data.reason) : ''}`.trim();
  return Object.keys(data).length ? JSON.stringify(data).slice(0, 120) : '';
}
