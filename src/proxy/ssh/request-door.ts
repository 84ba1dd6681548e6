import type { Connection, ServerChannel } from 'ssh2';
import { isDuration, parseDuration } from '../../core/duration.js';
import { CustosError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ResolvedIdentity } from '../../policy/access-control.js';
import type { RequestService } from '../../policy/request-service.js';
import { requestView, type RequestView } from '../../policy/request-view.js';
import { ProxyError } from '../errors.js';
import { onAnsweringSession } from './answering-session.js';
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
  /** What to print for one command, and its exit status. */
  const answer = async (command: string | null): Promise<[string, number]> => {
    const parsed = parseDoorCommand(command);
    try {
      switch (parsed.kind) {
        case 'help':
          return [DOOR_USAGE, 0];
        case 'error':
          return [`custos: ${parsed.message}\n${DOOR_USAGE}`, 2];
        case 'ls': {
          const rows = (await requests.list(actor, { limit: 50 })).map(requestView);
          return [rows.length ? rows.map(line).join('\n') : 'no requests', 0];
        }
        case 'show':
          return [line(requestView(await requests.show(actor, parsed.id))), 0];
        case 'create': {
          const { kind: _kind, start, ...input } = parsed;
          const created = requestView(await requests.create(actor, { ...input, ...(start ? { start: startTime(start) } : {}) }));
          return [`${created.id}\n${line(created)}`, 0];
        }
      }
    } catch (err) {
      if (err instanceof CustosError) return [`custos: ${err.message}`, 2];
      logger.error('request door: unexpected failure', { identity: resolved.identity.name, error: errorMessage(err) });
      return ['custos: the gateway could not take this request (see its log)', 1];
    }
  };
  onAnsweringSession(connection, (session) => {
    const finish = (channel: ServerChannel, text: string, status: number) => {
      const eol = session.pty ? '\r\n' : '\n';
      (status === 0 ? channel : channel.stderr).write(text.replace(/\n/g, eol) + eol);
      channel.exit(status);
      channel.end();
      clearTimeout(idle);
      idle = setTimeout(() => connection.end(), IDLE_MS);
    };
    session.onStart((channel, command) => void answer(command).then(([text, status]) => finish(channel, text, status)), 'refuse');
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
