import { formatDuration } from '../core/duration.js';
import type { RequestDetail } from '../store/repositories/requests.js';
import type { RequestNotice } from './request-service.js';

/** A request as the API, the CLI and notifications show it: the row, its approvals and its grant. */
export function requestView(detail: RequestDetail) {
  const { request, approvals, grant } = detail;
  return {
    ...request,
    duration: formatDuration(request.durationMs),
    approvals: approvals.map((approval) => ({ approver: approval.approverName, decision: approval.decision, reason: approval.reason, at: approval.at })),
    grant: grant
      ? {
          id: grant.id,
          from: grant.startsAt,
          until: grant.endsAt,
          approvers: grant.approvers,
          state: grant.state,
          endKind: grant.endKind,
          endedAt: grant.endedAt,
          endedBy: grant.endedBy,
          endReason: grant.endReason,
        }
      : null,
  };
}

export type RequestView = ReturnType<typeof requestView>;

/**
 * The JSON a webhook receives for a request notice. `id` is the same on every retry of one
 * notification, so a receiver can drop repeats.
 */
export function noticePayload(notice: RequestNotice, node: string): Record<string, unknown> {
  const { request } = notice.request;
  return {
    id: `${request.id}:${notice.event}:${notice.at.getTime()}`,
    type: `request.${notice.event}`,
    at: notice.at.toISOString(),
    gateway: node,
    actor: notice.actor,
    reason: notice.reason,
    request: JSON.parse(JSON.stringify(requestView(notice.request))) as unknown,
  };
}
