import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import type { RequestView } from '../../policy/request-view.js';
import type { SessionUnderRequest } from '../../store/repositories/requests.js';
import { CliError } from '../errors.js';
import { callApi } from '../gateway-api.js';
import { identityApi } from '../identity-api.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { formatTable, shortTime } from '../table.js';

/** As a value crossed the API or the admin socket: dates as ISO strings. */
type Wire<T> = T extends Date ? string : T extends Array<infer U> ? Array<Wire<U>> : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

/** A request as the API and the admin socket return it, with the sessions under it (`show`). */
type RequestWire = Wire<RequestView> & { sessions?: Array<Wire<SessionUnderRequest>> };

const gatewayOption = (command: Command) => command.option('--gateway <url>', "the gateway's web API (default: CUSTOS_GATEWAY, the custos login, the local config's web listener)");

/**
 * Runs a request command as the identity of CUSTOS_TOKEN / `custos login` over the web API,
 * or, without a token, through the admin socket as the OS user (list, show, revoke only).
 */
async function run<T>(command: Command, api: { method: 'GET' | 'POST'; path: string; body?: unknown }, op: string, args: Record<string, unknown>): Promise<T> {
  const target = identityApi(command);
  if (target) return callApi<T>(target, api.method, api.path, api.body);
  return (await runCliOperation(configFor(command), op, args)) as T;
}

export function registerRequest(program: Command): void {
  const request = program.command('request').description('just-in-time access: ask for access a role gives only with approval, answer, revoke');

  gatewayOption(withConfigOption(request.command('create')))
    .description('ask for access; prints the request id (approvers are told through the viewer, the CLI and the webhook)')
    .requiredOption('--target <name>', 'the target')
    .option('--login <login>', 'SSH login')
    .option('--db-user <user>', 'PostgreSQL database user')
    .option('--kube-group <group>', 'Kubernetes group')
    .requiredOption('--reason <text>', 'why you need it (shown to approvers, kept in the audit log)')
    .option('--ticket <ref>', 'the change or incident ticket (required, or checked against a pattern, where the role says so)')
    .option('--duration <duration>', 'how long the access lasts once approved (default 1h, at most the role maxDuration)')
    .option('--start <when>', 'when the access starts: a timestamp, or a duration from now (default: once approved)')
    .option('--for <bot>', 'ask for a bot you own')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      const body = {
        target: options.target,
        reason: options.reason,
        ...(options.login ? { login: options.login } : {}),
        ...(options.dbUser ? { dbUser: options.dbUser } : {}),
        ...(options.kubeGroup ? { kubeGroup: options.kubeGroup } : {}),
        ...(options.ticket ? { ticket: options.ticket } : {}),
        ...(options.duration ? { duration: options.duration } : {}),
        ...(options.start ? { start: startTime(options.start) } : {}),
        ...(options.for ? { for: options.for } : {}),
      };
      const created = await run<RequestWire>(command, { method: 'POST', path: 'api/requests', body }, 'requests.create', body);
      print(created.id);
      process.stderr.write(`${summary(created)}\n`);
    });

  gatewayOption(withConfigOption(request.command('ls')))
    .description('requests you may see (yours, those you may approve; auditors and admins on the gateway host: all), newest first')
    .option('--state <state>', 'pending | approved | denied | expired | revoked')
    .option('--identity <name>', 'requests for or by this identity')
    .option('--format <format>', 'table | json', 'table')
    .action(async (options: { state?: string; identity?: string; format: string }, command: Command) => {
      if (options.format !== 'table' && options.format !== 'json') throw new CliError('usage', `unknown format "${options.format}" (table, json)`);
      const query = new URLSearchParams({ limit: '200', ...(options.state ? { state: options.state } : {}), ...(options.identity ? { identity: options.identity } : {}) });
      const listed = await run<RequestWire[] | { items: RequestWire[] }>(command, { method: 'GET', path: `api/requests?${query}` }, 'requests.list', {
        state: options.state,
        identity: options.identity,
        limit: 200,
      });
      const rows = Array.isArray(listed) ? listed : listed.items;
      if (options.format === 'json') return print(rows.map((row) => JSON.stringify(row)).join('\n'));
      print(
        formatTable(
          ['ID', 'STATE', 'FOR', 'TARGET', 'AS', 'TICKET', 'APPROVALS', 'CREATED', 'UNTIL', 'REASON'],
          rows.map((row) => [
            row.id,
            row.state,
            row.identityKind === 'bot' ? `${row.identityName} (bot of ${row.identityOwner ?? '?'})` : row.identityName,
            row.target,
            principal(row),
            row.ticket,
            `${approvalsOf(row).length}/${row.approvalsRequired}`,
            shortTime(row.createdAt),
            row.grant ? shortTime(row.grant.until) : null,
            row.reason.length > 50 ? `${row.reason.slice(0, 49)}…` : row.reason,
          ]),
        ),
      );
    });

  gatewayOption(withConfigOption(request.command('show')))
    .description('one request: what was asked, its approvals, its grant, and every session opened under it')
    .argument('<id>', 'request id (req_…)')
    .option('--format <format>', 'text | json', 'text')
    .action(async (id: string, options: { format: string }, command: Command) => {
      const shown = await run<RequestWire>(command, { method: 'GET', path: `api/requests/${encodeURIComponent(id)}` }, 'requests.show', { id });
      if (options.format === 'json') return print(JSON.stringify(shown, null, 2));
      if (options.format !== 'text') throw new CliError('usage', `unknown format "${options.format}" (text, json)`);
      print(describe(shown));
    });

  gatewayOption(withConfigOption(request.command('approve')))
    .description('approve a request you may answer (never your own, never as a bot, never your bot\'s)')
    .argument('<id>', 'request id (req_…)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      const body = options.reason ? { reason: options.reason } : {};
      const done = await run<RequestWire>(command, { method: 'POST', path: `api/requests/${encodeURIComponent(id)}/approve`, body }, 'requests.approve', { id, ...body });
      print(summary(done));
    });

  gatewayOption(withConfigOption(request.command('deny')))
    .description('deny a request you may answer')
    .argument('<id>', 'request id (req_…)')
    .requiredOption('--reason <text>', 'why (shown to the requester, kept in the audit log)')
    .action(async (id: string, options: { reason: string }, command: Command) => {
      const body = { reason: options.reason };
      const done = await run<RequestWire>(command, { method: 'POST', path: `api/requests/${encodeURIComponent(id)}/deny`, body }, 'requests.deny', { id, ...body });
      print(summary(done));
    });

  gatewayOption(withConfigOption(request.command('revoke')))
    .description('withdraw a pending request or end an approved one now: its live sessions end on every gateway')
    .argument('<id>', 'request id (req_…)')
    .requiredOption('--reason <text>', 'why (shown to the operators whose sessions end, kept in the audit log)')
    .action(async (id: string, options: { reason: string }, command: Command) => {
      const body = { reason: options.reason };
      const done = await run<RequestWire & { sessionsEnding: { ended: number; live: number } }>(
        command,
        { method: 'POST', path: `api/requests/${encodeURIComponent(id)}/revoke`, body },
        'requests.revoke',
        { id, ...body },
      );
      print(summary(done));
      const { ended, live } = done.sessionsEnding;
      if (ended || live) print(`${ended} live session${ended === 1 ? '' : 's'} under it ended${live ? `; ${live} not yet (their gateways have been told)` : ''}`);
      if (live) process.exitCode = 1;
    });
}

/** `--start`: a timestamp, or a duration from now. */
function startTime(text: string): string {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(text)) {
    try {
      return new Date(Date.now() + parseDuration(text)).toISOString();
    } catch {
      // not a duration: a timestamp then
    }
  }
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw new CliError('usage', `--start: "${text}" is neither a timestamp (2026-01-31T12:00:00Z) nor a duration from now (30m)`);
  return time.toISOString();
}

function principal(row: RequestWire): string {
  if (row.login) return `login ${row.login}`;
  if (row.dbUser) return `db user ${row.dbUser}`;
  if (row.kubeGroup) return `group ${row.kubeGroup}`;
  return '-';
}

function approvalsOf(row: RequestWire) {
  return row.approvals.filter((approval) => approval.decision === 'approve');
}

/** One line saying where the request stands. */
function summary(row: RequestWire): string {
  const what = `${principal(row)} on ${row.target} for ${row.identityName}${row.ticket ? ` (${row.ticket})` : ''}`;
  const count = `${approvalsOf(row).length}/${row.approvalsRequired}`;
  switch (row.state) {
    case 'pending':
      return `request ${row.id} pending: ${what}, ${row.duration}; approvals ${count} (approvers: holders of ${row.approverRoles.join(', ')}); unanswered it expires at ${shortTime(row.expiresAt)}`;
    case 'approved':
      return `request ${row.id} approved (${count}): ${what} from ${shortTime(row.grant?.from)} until ${shortTime(row.grant?.until)}`;
    default:
      return `request ${row.id} ${row.state}${row.closedBy ? ` by ${row.closedBy}` : ''}${row.closeReason ? `: ${row.closeReason}` : ''} (${what})`;
  }
}

function describe(row: RequestWire): string {
  const field = (name: string, value: unknown) => `${name.padEnd(12)}${value === null || value === undefined || value === '' ? '-' : String(value)}`;
  const lines = [
    field('request', row.id),
    field('state', row.state),
    field('for', `${row.identityName} (${row.identityKind}${row.identityOwner ? `, owner ${row.identityOwner}` : ''})`),
    field('asked by', row.requestedBy),
    field('target', `${row.target} (${row.protocol})`),
    field('as', principal(row)),
    field('role', row.role),
    field('reason', row.reason),
    field('ticket', row.ticket),
    field('duration', row.duration),
    field('created', shortTime(row.createdAt)),
    field('approvals', `${approvalsOf(row).length}/${row.approvalsRequired} (approvers: holders of ${row.approverRoles.join(', ')})`),
  ];
  if (row.state === 'pending') lines.push(field('expires', shortTime(row.expiresAt)));
  if (row.grant) lines.push(field('grant', `${row.grant.id} from ${shortTime(row.grant.from)} until ${shortTime(row.grant.until)} (${row.grant.state}${row.grant.endKind ? `, ${row.grant.endKind}` : ''})`));
  if (row.closedAt) lines.push(field('closed', `${shortTime(row.closedAt)} by ${row.closedBy ?? '?'}: ${row.closeReason ?? ''}`));
  if (row.approvals.length) {
    lines.push('', 'ANSWERS', formatTable(['AT', 'BY', 'ANSWER', 'REASON'], row.approvals.map((a) => [shortTime(a.at), a.approver, a.decision, a.reason])).trimEnd());
  }
  if (row.sessions?.length) {
    lines.push(
      '',
      'SESSIONS',
      formatTable(
        ['ID', 'PROTOCOL', 'STATE', 'STARTED', 'ENDED', 'STATEMENTS', 'RECORDING', 'END REASON'],
        row.sessions.map((s) => [s.id, s.protocol, s.state, shortTime(s.startedAt), shortTime(s.endedAt), s.protocol === 'postgres' ? s.statements : null, s.hasRecording ? 'yes' : null, s.endReason]),
      ).trimEnd(),
    );
  }
  return lines.join('\n');
}
