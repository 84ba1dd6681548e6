import { checkChainLink, type ChainFault, type ChainedAuditEvent } from '../core/audit-chain.js';
import type { Store } from '../store/store.js';
import { CheckpointTracker, type Checkpoint, type CheckpointResult } from './chain-checkpoints.js';

export interface VerifyResult {
  ok: boolean;
  /** Events checked. */
  checked: number;
  head: { seq: number; hash: string } | null;
  /** The first event that does not verify. */
  fault: ChainFault | null;
  /** Each expected head (kept outside the store) and whether the chain still holds it. */
  checkpoints: CheckpointResult[];
}

/**
 * Walks the whole chain in order, page by page, and stops at the first bad event. Every
 * checkpoint must be in the chain with its hash (a chain that ends before one lost events).
 */
export async function verifyAuditChain(store: Pick<Store, 'audit'>, pageSize = 5000, checkpoints: Checkpoint[] = []): Promise<VerifyResult> {
  let previous: ChainedAuditEvent | null = null;
  let checked = 0;
  const tracker = new CheckpointTracker(checkpoints);
  const result = (fault: ChainFault | null): VerifyResult => {
    const head = previous ? { seq: previous.seq, hash: previous.hash } : null;
    const results = tracker.finish(head, fault === null);
    return { ok: fault === null && results.every((r) => r.ok), checked, head, fault, checkpoints: results };
  };
  // Below any seq, so rows inserted with seq 0 or negative seqs are checked too.
  let afterSeq = Number.MIN_SAFE_INTEGER;
  while (true) {
    const page = await store.audit.page(afterSeq, pageSize);
    for (const event of page) {
      const fault = checkChainLink(previous, event);
      if (fault) return result(fault);
      tracker.see(event);
      previous = event;
      checked += 1;
    }
    if (page.length < pageSize) break;
    afterSeq = page.at(-1)!.seq;
  }
  return result(null);
}
