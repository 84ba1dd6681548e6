import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { NewKubeRequestRow } from '../store/repositories/kube-requests.js';
import { kubeRequestRecord } from './kube-request-export.js';

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

/** The row in the export's record form (every column but the id), keys sorted. */
export function kubeRequestDigestLine(row: NewKubeRequestRow): string {
  const { id: _id, ...record } = kubeRequestRecord({ ...row, id: 0 });
  return canonicalJson(record);
}
