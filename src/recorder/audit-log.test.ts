import { describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from '../core/audit-chain.js';
import type { AuditEventInput } from '../store/repositories/audit.js';
import type { Store } from '../store/store.js';
import { AuditLog } from './audit-log.js';
import { RecorderError } from './errors.js';

function fakeStore(append: (events: AuditEventInput[]) => Promise<ChainedAuditEvent[]>): Store {
  return { audit: { append } } as unknown as Store;
}

const chained = (events: AuditEventInput[], start: number) =>
  events.map((event, i) => ({ ...event, seq: start + i }) as unknown as ChainedAuditEvent);

describe('AuditLog', () => {
  it('writes events recorded in the same tick as one batch and resolves each with its own event', async () => {
    const batches: number[] = [];
    let seq = 1;
    const log = new AuditLog(
      fakeStore(async (events) => {
        batches.push(events.length);
        const out = chained(events, seq);
        seq += events.length;
        return out;
      }),
    );
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.record({ type: 't', actor: 'a', data: { i } })));
    expect(batches).toEqual([50]);
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('rejects every event of a batch it could not write, then recovers', async () => {
    let fail = true;
    const log = new AuditLog(
      fakeStore(async (events) => {
        if (fail) throw new Error('disk full');
        return chained(events, 1);
      }),
    );
    const failures = await Promise.allSettled([log.record({ type: 't', actor: 'a' }), log.record({ type: 't', actor: 'a' })]);
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    const reason = (failures[0] as PromiseRejectedResult).reason as RecorderError;
    expect(reason).toBeInstanceOf(RecorderError);
    expect(reason.code).toBe('audit_unavailable');
    expect(reason.message).toMatch(/disk full/);
    fail = false;
    await expect(log.record({ type: 't', actor: 'a' })).resolves.toMatchObject({ seq: 1 });
  });

  it('refuses new events beyond its bound instead of growing without limit', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const log = new AuditLog(
      fakeStore(async (events) => {
        await gate;
        return chained(events, 1);
      }),
      { maxQueued: 3 },
    );
    const first = log.record({ type: 't', actor: 'a' });
    await new Promise((resolve) => setImmediate(resolve));
    const queued = [1, 2, 3].map(() => log.record({ type: 't', actor: 'a' }));
    await expect(log.record({ type: 't', actor: 'a' })).rejects.toMatchObject({ code: 'audit_overloaded' });
    release();
    await Promise.all([first, ...queued]);
    await log.flush();
    expect(log.pending).toBe(0);
  });
});
