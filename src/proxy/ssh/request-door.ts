import type { Connection, ServerChannel } from 'ssh2';
import { isDuration, parseDuration } from '../../core/duration.js';
import { CustosError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ResolvedIdentity } from '../../policy/access-control.js';
import { requestView, type RequestService, type RequestView } from '../../policy/request-service.js';
import { ProxyError } from '../errors.js';
import { DOOR_USAGE, parseDoorCommand } from './request-door-command.js';
import { OPEN_FAILURE, rejectChannelOpen } from './ssh2-internals.js';

const IDLE_MS = 60_000;

/**
 * The SSH user `request`: an identity proved by its key asks for access (or lists and shows
 * its requests) without a token or the CLI. One command per channel; nothing is relayed
 * anywhere, so there is no session to record — the request itself is the audit event.
 */
export function serveRequestDoor(connection: Connection, resolved: ResolvedIdentity, requests: RequestService, logger: Logger): void {
  const actor = { kind: 'identity' as const, identity: resolved.identity };
  let idle = setTimeout(() => connection.end(), IDLE_MS);
  connection.once('close', () => clearTimeout(idle));
  connection.on('session', (accept) => {
    const session = accept();
    let pty = false;
    session.on('pty', (ok) => {
      pty = true;
      ok?.();
    });
    session.on('env', (ok) => ok?.());
    session.on('window-change', (ok) => ok?.());
    const finish = (channel: ServerChannel, text: string, status: number) => {
      const eol = pty ? '\r\n' : '\n';
      const body = text.replace(/\n/g, eol) + eol;
      (status === 0 ? channel : channel.stderr).write(body);
      channel.exit(status);
      channel.end();
      clearTimeout(idle);
      idle = setTimeout(() => connection.end(), IDLE_MS);
    };
    const run = async (channel: ServerChannel, command: string | null) => {
      const parsed = parseDoorCommand(command);
      try {
        switch (parsed.kind) {
          case 'help':
            return finish(channel, DOOR_USAGE, 0);
          case 'error':
            return finish(channel, `custos: ${parsed.message}\n${DOOR_USAGE}`, 2);
          case 'ls': {
            const rows = (await requests.list(actor, { limit: 50 })).map(requestView);
            return finish(channel, rows.length ? rows.map(line).join('\n') : 'no requests', 0);
          }
          case 'show':
            return finish(channel, line(requestView(await requests.show(actor, parsed.id))), 0);
          case 'create': {
            const { kind: _kind, target, start, ...rest } = parsed;
            const startAt = start ? startTime(start) : undefined;
            const created = requestView(await requests.create(actor, { target, ...rest, ...(startAt ? { start: startAt } : {}) }));
            return finish(channel, `${created.id}\n${line(created)}`, 0);
          }
        }
      } catch (err) {
        if (!(err instanceof CustosError)) logger.error('request door: unexpected failure', { identity: resolved.identity.name, error: errorMessage(err) });
        finish(channel, `custos: ${err instanceof CustosError ? err.message : 'the gateway could not take this request (see its log)'}`, err instanceof CustosError ? 2 : 1);
      }
    };
    session.on('shell', (ok) => void run(ok(), null));
    session.on('exec', (ok, _reject, info) => void run(ok(), info.command));
    session.on('subsystem', (_ok, reject) => reject?.());
  });
  connection.on('tcpip', (_accept, reject) => rejectChannelOpen(connection, reject, OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'custos: the request door forwards nothing'));
  connection.on('request', (_accept, reject) => reject?.());
}

function line(row: RequestView): string {
  const principal = row.login ? `login ${row.login}` : row.dbUser ? `db user ${row.dbUser}` : row.kubeGroup ? `group ${row.kubeGroup}` : 'access';
  const approvals = row.approvals.filter((approval) => approval.decision === 'approve').length;
  const state =
    row.state === 'pending'
      ? `pending, ${approvals}/${row.approvalsRequired} approvals (approvers: holders of ${row.approverRoles.join(', ')})`
      : row.state === 'approved' && row.grant
        ? `approved until ${row.grant.until.toISOString()}`
        : row.state;
  return `${row.id} ${state}: ${principal} on ${row.target} for ${row.identityName}, ${row.duration}${row.ticket ? `, ticket ${row.ticket}` : ''}`;
}

/** `--start`: a duration from now (30m) or a timestamp. */
function startTime(text: string): Date {
  if (isDuration(text)) return new Date(Date.now() + parseDuration(text));
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw new ProxyError('invalid_request', `--start: "${text}" is neither a timestamp nor a duration from now (30m)`);
  return time;
}
