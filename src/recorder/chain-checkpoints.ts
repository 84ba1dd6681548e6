import type { ChainedAuditEvent } from '../core/audit-chain.js';
import { RecorderError } from './errors.js';

/**
 * A head someone kept outside the store — `--expect-head SEQ:HASH`, the newest line of the
 * `audit.anchor` file — that the chain must still contain. The hash of event N covers every
 * event up to N, so a matching checkpoint proves nothing up to it was changed, and a chain
 * that now ends before it lost its newest events.
 */
export interface Checkpoint {
  seq: number;
  hash: string;
  /** Where it came from, for the message: `--expect-head`, `anchor /var/lib/custos/anchor (2026-…)`. */
  source: string;
}

export interface CheckpointResult extends Checkpoint {
  ok: boolean;
  message: string;
}

export function parseCheckpoint(text: string, source: string): Checkpoint {
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new RecorderError('invalid_checkpoint', `${source}: expected SEQ:HASH (the head custos verify prints, e.g. 42:${'ab'.repeat(32)}), got "${text}"`);
  return { seq: Number(match[1]), hash: match[2]!, source };
}

/** Follows a chain walk and says, at its end, whether each checkpoint was met. */
export class CheckpointTracker {
  private readonly seen = new Map<number, string>();

  constructor(private readonly checkpoints: Checkpoint[]) {}

  see(event: Pick<ChainedAuditEvent, 'seq' | 'hash'>): void {
    if (this.checkpoints.some((checkpoint) => checkpoint.seq === event.seq)) this.seen.set(event.seq, event.hash);
  }

  /**
   * `head`: the last event that verified; `complete`: the walk reached the end of the chain
   * (false when it stopped at a broken event).
   */
  finish(head: { seq: number } | null, complete: boolean): CheckpointResult[] {
    return this.checkpoints.map((checkpoint) => {
      const found = this.seen.get(checkpoint.seq);
      const name = `seq ${checkpoint.seq} hash ${checkpoint.hash} (${checkpoint.source})`;
      if (found === checkpoint.hash) return { ...checkpoint, ok: true, message: `${name}: in the chain` };
      if (found !== undefined) {
        return { ...checkpoint, ok: false, message: `${name}: event ${checkpoint.seq} now has hash ${found}: the chain was rewritten up to it` };
      }
      if (!complete) return { ...checkpoint, ok: false, message: `${name}: not reached, the chain is broken before it` };
      const end = head ? `the chain ends at seq ${head.seq}` : 'the chain is empty';
      return { ...checkpoint, ok: false, message: `${name}: ${end}: events were removed from the end` };
    });
  }
}
