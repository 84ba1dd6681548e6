import { verifySessionQueries } from '../recorder/query-verify.js';
import { optionalNumber, optionalString, optionalTime, stringArg } from './args.js';
import type { Operation } from './context.js';

/** The most rows one call returns: callers page with `afterId`. */
export const QUERY_PAGE_LIMIT = 5000;

export const queryOperations: Record<string, Operation> = {
  /** One page of captured statements, oldest first, after `afterId`. */
  async 'queries.list'(context, args) {
    const identity = optionalString(args, 'identity');
    const sessionId = optionalString(args, 'session');
    const target = optionalString(args, 'target');
    const since = optionalTime(args, 'since');
    const until = optionalTime(args, 'until');
    const afterId = optionalNumber(args, 'afterId');
    return context.store.queries.list({
      ...(identity ? { identity } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(target ? { target } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(afterId !== undefined ? { afterId } : {}),
      limit: Math.min(optionalNumber(args, 'limit') ?? 1000, QUERY_PAGE_LIMIT),
    });
  },

  /** Recomputes a session's query digest and compares it with its session.end event. */
  async 'queries.verify'(context, args) {
    return verifySessionQueries(context.store, stringArg(args, 'session'));
  },
};
