import type { Approval } from '../policy/model.js';

/**
 * The approval tags every piece of evidence of a session under a grant carries — its row,
 * its audit events, its recordings' headers (`custos.approval`): the request, the grant, the
 * ticket, who approved it and until when.
 */
export interface ApprovalEvidence {
  request: string;
  grant: string;
  ticket: string | null;
  approvers: string[];
  /** When the access ends (ISO 8601). */
  until: string;
}

export function approvalEvidence(approval: Approval | null | undefined): ApprovalEvidence | null {
  if (!approval) return null;
  return { request: approval.request, grant: approval.id, ticket: approval.ticket, approvers: approval.approvers, until: approval.until.toISOString() };
}
