import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { NewKubeRequestRow } from '../store/repositories/kube-requests.js';

/** What a Kubernetes session's end event seals about its requests. */
export interface KubeRequestSeal {
  requests: number;
  digest: string;
  /** Requests still running when the session was sealed: not in the digest. */
  unsettled?: number;
}

/**
 * A running sha256 over a session's Kubernetes request rows in seq order, each row as it
 * stands once its request ended (every column but the store's id) in canonical JSON and a
 * newline. The session's end event carries it, and the audit chain protects the event, so
 * an edited, deleted or inserted request row is detectable later. Canonical JSON, because
 * jsonb reorders the keys of `details` and `kube_groups` is read back as stored.
 */
export class KubeRequestDigest {
  private readonly hash: Hash = createHash('sha256');
  count = 0;

  add(row: NewKubeRequestRow): void {
    this.hash.update(`${kubeRequestDigestLine(row)}\n`);
    this.count += 1;
  }

  /** `sha256:<hex>`; the digest cannot be extended after this. */
  finish(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export function kubeRequestDigestLine(row: NewKubeRequestRow): string {
  return canonicalJson({
    session_id: row.sessionId,
    seq: row.seq,
    identity_id: row.identityId,
    identity: row.identityName,
    target: row.target,
    method: row.method,
    verb: row.verb,
    api_group: row.apiGroup,
    api_version: row.apiVersion,
    resource: row.resource,
    subresource: row.subresource,
    namespace: row.namespace,
    name: row.name,
    path: row.path,
    decision: row.decision,
    reason: row.reason,
    kube_user: row.kubeUser,
    kube_groups: row.kubeGroups,
    started_at: row.startedAt.getTime(),
    code: row.code,
    duration_ms: row.durationMs,
    request_bytes: row.requestBytes,
    response_bytes: row.responseBytes,
    client_addr: row.clientAddr,
    user_agent: row.userAgent,
    details: row.details,
  });
}
