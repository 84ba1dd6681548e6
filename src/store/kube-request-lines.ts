import type { kubeRequests } from './schema/index.js';

export type KubeRequestRow = typeof kubeRequests.$inferSelect;
export type NewKubeRequestRow = Omit<KubeRequestRow, 'id'>;
/** What is known when a request ends: written over its row (the details are merged). */
export type KubeRequestCompletion = Pick<KubeRequestRow, 'sessionId' | 'seq' | 'code' | 'durationMs' | 'requestBytes' | 'responseBytes' | 'reason' | 'details'>;

/**
 * A request row as one JSON array (columns in the order the batch insert expands them):
 * the kube request log serializes each row once, and a batch is `[line,line,…]`.
 */
export function kubeRequestLine(row: NewKubeRequestRow): string {
  return JSON.stringify([
    row.sessionId,
    row.seq,
    row.identityId,
    row.identityName,
    row.target,
    row.method,
    row.verb,
    row.apiGroup,
    row.apiVersion,
    row.resource,
    row.subresource,
    row.namespace,
    row.name,
    row.path,
    row.decision,
    row.reason,
    row.kubeUser,
    row.kubeGroups,
    row.startedAt.getTime(),
    row.code,
    row.durationMs,
    row.requestBytes,
    row.responseBytes,
    row.clientAddr,
    row.userAgent,
    row.details,
  ]);
}

export function kubeRequestCompletionLine(completion: KubeRequestCompletion): string {
  return JSON.stringify([
    completion.sessionId,
    completion.seq,
    completion.code,
    completion.durationMs,
    completion.requestBytes,
    completion.responseBytes,
    completion.reason,
    completion.details,
  ]);
}
