import { describe, expect, it } from 'vitest';
import { auditEventHash, checkChainLink, GENESIS_HASH, type ChainedAuditEvent } from './audit-chain.js';

function chain(count: number): ChainedAuditEvent[] {
  const events: ChainedAuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const content = {
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      type: 'test.event',
      actor: 'os:alice@host',
      identity: 'alice',
      sessionId: null,
      target: null,
      data: { n: seq, nested: { b: 2, a: 1 } },
    };
    const hash = auditEventHash(seq, prevHash, content);
    events.push({ ...content, seq, prevHash, hash });
    prevHash = hash;
  }
  return events;
}

function firstFault(events: ChainedAuditEvent[]) {
  let previous: ChainedAuditEvent | null = null;
  for (const event of events) {
    const fault = checkChainLink(previous, event);
    if (fault) return fault;
    previous = event;
  }
  return null;
}

describe('audit hash chain', () => {
  it('accepts an intact chain', () => {
    expect(firstFault(chain(5))).toBeNull();
  });

  it('does not depend on key order inside data', () => {
    const [event] = chain(1);
    const reordered = { ...event!, data: { nested: { a: 1, b: 2 }, n: 1 } };
    expect(checkChainLink(null, reordered)).toBeNull();
  });

  it('names a changed event', () => {
    const events = chain(5);
    events[2] = { ...events[2]!, actor: 'os:mallory@host' };
    expect(firstFault(events)).toMatchObject({ seq: 3, kind: 'changed' });
  });

  it('names the event after a deleted one', () => {
    const events = chain(5);
    events.splice(2, 1);
    expect(firstFault(events)).toMatchObject({ seq: 4, kind: 'broken-link' });
  });

  it('names an inserted event even when its own hash is consistent', () => {
    const events = chain(5);
    const forgedContent = { ...events[1]!, type: 'forged' };
    const forged = { ...forgedContent, seq: 3, prevHash: events[1]!.hash, hash: auditEventHash(3, events[1]!.hash, forgedContent) };
    // Renumber what follows, as someone making room for the forged event would have to.
    const tail = events.slice(2).map((event) => ({ ...event, seq: event.seq + 1 }));
    const tampered = [...events.slice(0, 2), forged, ...tail];
    expect(firstFault(tampered)).toMatchObject({ seq: 4, kind: 'changed' });
  });

  it('names an event whose hash was recomputed after a change, through the next link', () => {
    const events = chain(5);
    const changed = { ...events[1]!, actor: 'os:mallory@host' };
    events[1] = { ...changed, hash: auditEventHash(2, changed.prevHash, changed) };
    expect(firstFault(events)).toMatchObject({ seq: 3, kind: 'broken-link' });
  });
});
