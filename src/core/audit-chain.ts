import { createHash } from 'node:crypto';
import { canonicalJson, type JsonObject } from './canonical-json.js';

/** The hash that precedes the first event of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** What an audit event says; `seq`, `prevHash` and `hash` are given when it is appended. */
export interface AuditEventContent {
  time: string;
  type: string;
  actor: string;
  identity: string | null;
  sessionId: string | null;
  target: string | null;
  data: JsonObject;
}

export interface ChainedAuditEvent extends AuditEventContent {
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * sha256 over the previous hash and the canonical JSON of the event with its sequence
 * number. Covering `seq` means an event cannot be moved in the chain without its hash
 * changing; covering `prevHash` means no event can be removed or inserted unnoticed.
 */
export function auditEventHash(seq: number, prevHash: string, content: AuditEventContent): string {
  const body = canonicalJson({
    seq,
    time: content.time,
    type: content.type,
    actor: content.actor,
    identity: content.identity,
    sessionId: content.sessionId,
    target: content.target,
    data: content.data,
  });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

export type ChainFault =
  | { seq: number; kind: 'changed'; message: string }
  | { seq: number; kind: 'broken-link'; message: string };

/**
 * Checks one event against its predecessor (or the genesis hash and seq 1 for the first).
 * Returns the fault, or null when the event is where the chain says it should be.
 */
export function checkChainLink(previous: ChainedAuditEvent | null, event: ChainedAuditEvent): ChainFault | null {
  const recomputed = auditEventHash(event.seq, event.prevHash, event);
  if (recomputed !== event.hash) {
    return {
      seq: event.seq,
      kind: 'changed',
      message: `event ${event.seq} (${event.type}) was changed: its content does not match its hash`,
    };
  }
  const expectedSeq = previous ? previous.seq + 1 : 1;
  const expectedPrev = previous ? previous.hash : GENESIS_HASH;
  if (event.seq !== expectedSeq || event.prevHash !== expectedPrev) {
    const where = previous ? `after event ${previous.seq}` : 'at the start of the chain';
    const gap =
      event.seq !== expectedSeq
        ? `expected seq ${expectedSeq}, found ${event.seq}: events were deleted or inserted ${where}`
        : `its prev_hash does not match the hash of event ${previous?.seq ?? 0}: that event was rewritten, or events were deleted or inserted ${where}`;
    return { seq: event.seq, kind: 'broken-link', message: `event ${event.seq} (${event.type}) breaks the chain: ${gap}` };
  }
  return null;
}
