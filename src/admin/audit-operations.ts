import { verifyAuditChain } from '../recorder/audit-verify.js';
import type { Checkpoint } from '../recorder/chain-checkpoints.js';
import { verifySessionKubeRequests } from '../recorder/kube-request-verify.js';
import { verifySessionQueries } from '../recorder/query-verify.js';
import { SEAL_TYPES, sealOf, type SessionSeal } from '../recorder/session-seals.js';
import { optionalNumber, optionalString, optionalTime } from './args.js';
import type { Operation } from './context.js';
import { AdminError } from './errors.js';

/** The most events or seals one call returns: callers page with `afterSeq`. */
export const AUDIT_PAGE_LIMIT = 5000;

export const auditOperations: Record<string, Operation> = {
  /** Newest events last; `limit` counts back from the newest match. */
  async 'audit.list'(context, args) {
    const since = optionalTime(args, 'since');
    const until = optionalTime(args, 'until');
    const identity = optionalString(args, 'identity');
    const type = optionalString(args, 'type');
    const sessionId = optionalString(args, 'session');
    const events = await context.store.audit.list({
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(identity ? { identity } : {}),
      ...(type?.endsWith('.') || type?.endsWith('*') ? { typePrefix: type.replace(/\*$/, '') } : type ? { type } : {}),
      ...(sessionId ? { sessionId } : {}),
      limit: optionalNumber(args, 'limit') ?? 1000,
      order: 'desc',
    });
    return events.reverse();
  },

  /** One page of the chain in order after `afterSeq` (exports copy a segment of it). */
  async 'audit.page'(context, args) {
    return context.store.audit.page(optionalNumber(args, 'afterSeq') ?? 0, Math.min(optionalNumber(args, 'limit') ?? 1000, AUDIT_PAGE_LIMIT));
  },

  /** The chain, and every checkpoint (`{seq, hash, source}`) it must still hold. */
  async 'audit.verify'(context, args) {
    return verifyAuditChain(context.store, 5000, checkpointsArg(args.checkpoints));
  },

  /** What session end events sealed (recording and query-log digests), in chain order after `afterSeq`. */
  async 'audit.seals'(context, args): Promise<SessionSeal[]> {
    const events = await context.store.audit.list({
      types: SEAL_TYPES,
      afterSeq: optionalNumber(args, 'afterSeq') ?? 0,
      order: 'asc',
      limit: Math.min(optionalNumber(args, 'limit') ?? 1000, AUDIT_PAGE_LIMIT),
    });
    return events.map(sealOf).filter((seal): seal is SessionSeal => seal !== null);
  },

  /** Each session's query log recomputed against the digest its end event sealed. */
  async 'queries.verifySessions'(context, args) {
    const sessions = args.sessions;
    if (!Array.isArray(sessions) || sessions.some((id) => typeof id !== 'string') || sessions.length > 1000) {
      throw new AdminError('invalid_argument', 'sessions must be a list of at most 1000 session ids');
    }
    const results = [];
    for (const id of sessions as string[]) results.push(await verifySessionQueries(context.store, id));
    return results;
  },
  async 'kube-requests.verifySessions'(context, args) {
    const sessions = args.sessions;
    if (!Array.isArray(sessions) || sessions.some((id) => typeof id !== 'string') || sessions.length > 1000) {
      throw new AdminError('invalid_argument', 'sessions must be a list of at most 1000 session ids');
    }
    const results = [];
    for (const id of sessions as string[]) results.push(await verifySessionKubeRequests(context.store, id));
    return results;
  },
};

function checkpointsArg(value: unknown): Checkpoint[] {
  if (value === undefined || value === null) return [];
  const valid = (c: unknown): c is Checkpoint =>
    typeof c === 'object' && c !== null && Number.isSafeInteger((c as Checkpoint).seq) && typeof (c as Checkpoint).hash === 'string' && typeof (c as Checkpoint).source === 'string';
  if (!Array.isArray(value) || !value.every(valid)) throw new AdminError('invalid_argument', 'checkpoints must be a list of {seq, hash, source}');
  return value;
}
