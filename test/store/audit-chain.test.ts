import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/recorder/audit-verify.js';
import { BACKENDS, openBackend, stopSharedPostgres, type StoreBackend } from '../helpers/store-backends.js';

afterAll(() => stopSharedPostgres());

describe.each(BACKENDS)('audit chain on %s', (kind) => {
  let backend: StoreBackend;

  beforeEach(async () => {
    backend = await openBackend(kind);
    await backend.store.audit.append(
      Array.from({ length: 6 }, (_, i) => ({
        type: i % 2 ? 'resource.update' : 'access.allow',
        actor: 'os:admin@host',
        identity: i % 3 ? 'alice' : 'ci-bot',
        data: { n: i, text: `ünïcödé ${i}`, nested: { list: [1, 'two', null], flag: true } },
      })),
    );
  });
  afterEach(() => backend.close());

  it('chains events in order and verifies them after a round trip through the database', async () => {
    const events = await backend.store.audit.list({});
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(await verifyAuditChain(backend.store)).toMatchObject({ ok: true, checked: 6, head: { seq: 6 } });
  });

  it('filters by identity, type and time', async () => {
    expect((await backend.store.audit.list({ identity: 'ci-bot' })).map((e) => e.seq)).toEqual([1, 4]);
    expect((await backend.store.audit.list({ type: 'resource.update' })).map((e) => e.seq)).toEqual([2, 4, 6]);
    expect((await backend.store.audit.list({ typePrefix: 'access.' })).map((e) => e.seq)).toEqual([1, 3, 5]);
    expect(await backend.store.audit.list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it('names a changed event', async () => {
    await backend.tamper(`update audit_events set data = jsonb_set(data, '{n}', '99') where seq = 3`);
    const result = await verifyAuditChain(backend.store);
    expect(result).toMatchObject({ ok: false, checked: 2, fault: { seq: 3, kind: 'changed' } });
  });

  it('names the event after a deleted one', async () => {
    await backend.tamper('delete from audit_events where seq = 3');
    expect(await verifyAuditChain(backend.store)).toMatchObject({ ok: false, fault: { seq: 4, kind: 'broken-link' } });
  });

  it('names an inserted event', async () => {
    await backend.tamper(
      `insert into audit_events (seq, time, type, actor, data, prev_hash, hash)
       select 7, now(), 'resource.delete', 'os:mallory@host', '{}'::jsonb, hash, repeat('a', 64) from audit_events where seq = 6`,
    );
    expect(await verifyAuditChain(backend.store)).toMatchObject({ ok: false, checked: 6, fault: { seq: 7, kind: 'changed' } });
  });

  it('names a changed time, actor or type as a change', async () => {
    await backend.tamper(`update audit_events set actor = 'os:someone-else@host' where seq = 5`);
    expect(await verifyAuditChain(backend.store)).toMatchObject({ fault: { seq: 5, kind: 'changed' } });
  });

  it('keeps appending after the head', async () => {
    const [event] = await backend.store.audit.append([{ type: 'gateway.stop', actor: 'gateway:test' }]);
    expect(event!.seq).toBe(7);
    expect(await verifyAuditChain(backend.store, 4)).toMatchObject({ ok: true, checked: 7 });
  });
});

describe('audit chain shared by two gateway processes on PostgreSQL', () => {
  it('serializes appends so the chain stays intact', async () => {
    const backend = await openBackend('postgres');
    try {
      const other = await backend.openAnother();
      const writers = [backend.store, other].flatMap((store, w) =>
        Array.from({ length: 20 }, (_, i) =>
          store.audit.append(Array.from({ length: 5 }, (_, j) => ({ type: 'test.concurrent', actor: `gateway:${w}`, data: { i, j } }))),
        ),
      );
      await Promise.all(writers);
      const result = await verifyAuditChain(backend.store);
      expect(result).toMatchObject({ ok: true, checked: 200, head: { seq: 200 } });
    } finally {
      await backend.close();
    }
  });
});
