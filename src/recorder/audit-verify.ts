import { checkChainLink, type ChainFault, type ChainedAuditEvent } from '../core/audit-chain.js';
import type { Store } from '../store/store.js';

export interface VerifyResult {
  ok: boolean;
  /** Events checked. */
  checked: number;
  head: { seq: number; hash: string } | null;
  /** The first event that does not verify. */
  fault: ChainFault | null;
}

/** Walks the whole chain in order, page by page, and stops at the first bad event. */
export async function verifyAuditChain(store: Pick<Store, 'audit'>, pageSize = 5000): Promise<VerifyResult> {
  let previous: ChainedAuditEvent | null = null;
  let checked = 0;
  // Below any seq, so rows inserted with seq 0 or negative seqs are checked too.
  let afterSeq = Number.MIN_SAFE_INTEGER;
  while (true) {
    const page = await store.audit.page(afterSeq, pageSize);
    for (const event of page) {
      const fault = checkChainLink(previous, event);
      if (fault) return { ok: false, checked, head: previous ? { seq: previous.seq, hash: previous.hash } : null, fault };
      previous = event;
      checked += 1;
    }
    if (page.length < pageSize) break;
    afterSeq = page.at(-1)!.seq;
  }
  return { ok: true, checked, head: previous ? { seq: previous.seq, hash: previous.hash } : null, fault: null };
}
