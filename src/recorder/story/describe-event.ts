import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { StoryProtocol } from './story-model.js';

type Data = Record<string, unknown>;

const str = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
const because = (data: Data) => (data.reason ? ` (reason: ${str(data.reason)})` : '');
const principal = (data: Data) =>
  data.login ? `login ${str(data.login)}` : data.dbUser ? `database user ${str(data.dbUser)}` : data.kubeGroup ? `Kubernetes group ${str(data.kubeGroup)}` : 'access';
const ticket = (data: Data) => (data.ticket ? `, ticket ${str(data.ticket)}` : '');

/** One line per audit event type, for the story (the event's data has the rest). */
const DESCRIBE: Record<string, (event: ChainedAuditEvent, data: Data) => string> = {
  'permission.grant': (e, d) => `role ${str(d.role)} granted to ${str(e.identity)}${d.via ? ` (${str(d.via)})` : ''}`,
  'permission.revoke': (e, d) => `role ${str(d.role)} taken from ${str(e.identity)}${d.via ? ` (${str(d.via)})` : ''}`,
  'credential.revoke': (e, d) => `every token and SSH key of ${str(e.identity)} revoked${d.via ? ` (${str(d.via)})` : ''}`,
  'token.create': (e, d) =>
    `token ${str(d.tokenId)} created for ${str(e.identity)}${d.request ? ` under request ${str(d.request)}` : ''}${d.expiresAt ? `, expires ${str(d.expiresAt)}` : ', never expires'}${because(d)}`,
  'token.revoke': (e, d) => `token ${str(d.tokenId)} of ${str(e.identity)} revoked${because(d)}`,
  'resource.create': (_e, d) => `${str(d.kind)}/${str(d.name)} created${because(d)}`,
  'resource.delete': (_e, d) => `${str(d.kind)}/${str(d.name)} deleted${because(d)}`,
  'resource.update': (_e, d) => {
    const changes = Array.isArray(d.changes) ? (d.changes as Array<{ path: string; before: unknown; after: unknown }>) : [];
    return `${str(d.kind)}/${str(d.name)} changed: ${changes.map((c) => `${c.path} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`).join('; ')}${because(d)}`;
  },
  'request.create': (e, d) =>
    `${e.actor === e.identity ? 'asked' : `${e.actor} asked`} for ${principal(d)} on ${str(e.target)} for ${str(d.duration)} as ${str(e.identity)}${ticket(d)}${because(d)} (request ${str(d.request)})`,
  'request.approve': (e, d) => `request ${str(d.request)} of ${str(e.identity)} approved by ${e.actor}${ticket(d)}${progress(d)}${because(d)}`,
  'request.deny': (e, d) => `request ${str(d.request)} of ${str(e.identity)} denied by ${e.actor}${because(d)}`,
  'request.revoke': (e, d) => `request ${str(d.request)} of ${str(e.identity)} revoked by ${e.actor}${because(d)}`,
  'request.expire': (_e, d) => `request ${str(d.request)} expired unanswered`,
  'grant.start': (e, d) =>
    `grant ${str(d.grant)} starts: ${principal(d)} on ${str(e.target)} for ${str(e.identity)} from ${str(d.from)} until ${str(d.until)}, approved by ${str((d.approvers as unknown[] | undefined)?.join(', '))}${ticket(d)}`,
  'grant.end': (_e, d) => `grant ${str(d.grant)} ended: ${str(d.kind)}${because(d)}`,
  'access.deny': (e, d) => `${str(d.protocol)} access to ${str(e.target)} DENIED${actionOf(d)}: ${str(d.reason)}`,
  'access.allow': (e, d) => `${str(d.protocol)} access to ${str(e.target)} allowed${actionOf(d)}: ${str(d.reason)}`,
  'access.revoked': (e, d) => `session ${str(e.sessionId)} ended, access taken away by ${e.actor}: ${str(d.reason)}`,
  'auth.failure': (e, d) => `failed ${str(d.protocol)} authentication${e.identity ? ` claiming ${e.identity}` : ''} from ${str(d.clientAddr ?? '?')}: ${str(d.reason)}`,
  'session.terminate': (e, d) => `session ${str(e.sessionId)} ended by ${e.actor}${because(d)}`,
};

function progress(data: Data): string {
  return typeof data.approvals === 'number' && typeof data.required === 'number' ? ` (${data.approvals}/${data.required})` : '';
}

function actionOf(data: Data): string {
  const action = data.action as { kind?: string; login?: string; dbUser?: string; host?: string; port?: number } | undefined;
  if (!action?.kind) return '';
  if (action.login) return ` (${action.kind}, login ${action.login})`;
  if (action.dbUser) return ` (${action.kind}, database user ${action.dbUser})`;
  if (action.host) return ` (${action.kind} to ${action.host}:${String(action.port)})`;
  return ` (${action.kind})`;
}

export function describeEvent(event: ChainedAuditEvent): string {
  const data = event.data as Data;
  const describe = DESCRIBE[event.type];
  if (describe) return describe(event, data);
  const reason = data.reason ? `: ${str(data.reason)}` : '';
  const rest = Object.keys(data).length && !reason ? ` ${JSON.stringify(data).slice(0, 160)}` : '';
  return `${event.type}${reason}${rest}`;
}

/** The protocol an event concerns, when it says or implies one. */
export function protocolOfEvent(event: ChainedAuditEvent): StoryProtocol | null {
  const data = event.data as Data;
  const stated = data.protocol;
  if (stated === 'ssh' || stated === 'postgres' || stated === 'kubernetes') return stated;
  if (event.type.startsWith('ssh.')) return 'ssh';
  if (event.type.startsWith('postgres.')) return 'postgres';
  if (event.type.startsWith('kubernetes.')) return 'kubernetes';
  if (data.login) return 'ssh';
  if (data.dbUser) return 'postgres';
  if (data.kubeGroup) return 'kubernetes';
  return null;
}
