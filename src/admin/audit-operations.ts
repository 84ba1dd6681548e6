import { verifyAuditChain } from '../recorder/audit-verify.js';
import { optionalNumber, optionalString, optionalTime } from './args.js';
import type { Operation } from './context.js';

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

  async 'audit.verify'(context) {
    return verifyAuditChain(context.store);
  },
};
