import { optionalNumber, optionalString, optionalTime } from './args.js';
import type { Operation } from './context.js';
import { AdminError } from './errors.js';

/** The most rows one call returns: callers page with `afterId`. */
export const KUBE_REQUEST_PAGE_LIMIT = 5000;

export const kubeRequestOperations: Record<string, Operation> = {
  /** One page of Kubernetes API requests, oldest first, after `afterId`. */
  async 'kube-requests.list'(context, args) {
    const text = (name: string) => optionalString(args, name);
    const decision = text('decision');
    if (decision && decision !== 'allowed' && decision !== 'denied') throw new AdminError('invalid_argument', 'decision must be allowed or denied');
    const since = optionalTime(args, 'since');
    const until = optionalTime(args, 'until');
    const afterId = optionalNumber(args, 'afterId');
    const filter = {
      identity: text('identity'),
      sessionId: text('session'),
      target: text('target'),
      verb: text('verb'),
      resource: text('resource'),
      namespace: text('namespace'),
      decision: decision as 'allowed' | 'denied' | undefined,
    };
    return context.store.kubeRequests.list({
      ...Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(afterId !== undefined ? { afterId } : {}),
      limit: Math.min(optionalNumber(args, 'limit') ?? 1000, KUBE_REQUEST_PAGE_LIMIT),
    });
  },
};
