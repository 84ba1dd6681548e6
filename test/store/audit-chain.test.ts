import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/recorder/audit-verify.js';
import { openStore } from '../../src/store/store.js';
import { prepareGatewayFiles } from '../helpers/gateway.js';
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

  it('stores exactly the instant it hashes, whatever precision the time was given in', async () => {
    const [event] = await backend.store.audit.append([{ time: '2025-03-01T10:00:00.123456Z', type: 'test.precise', actor: 'gateway:test' }]);
    expect(event!.time).toBe('2025-03-01T10:00:00.123Z');
    const [stored] = await backend.store.audit.list({ type: 'test.precise' });
    expect(stored!.time).toBe('2025-03-01T10:00:00.123Z');
    expect(await verifyAuditChain(backend.store)).toMatchObject({ ok: true, checked: 7 });
  });

  it('custos verify names an event whose time moved by one microsecond', async () => {
    await backend.tamper(`update audit_events set time = time + interval '1 microsecond' where seq = 3`);
    expect(await verifyAuditChain(backend.store)).toMatchObject({ ok: false, checked: 2, fault: { seq: 3, kind: 'changed' } });
    const [moved] = await backend.store.audit.list({ afterSeq: 2, limit: 1 });
    expect(moved!.time).toMatch(/\.\d{3}001Z$/);

    const files = await prepareGatewayFiles({ storeUrl: backend.url });
    // The embedded store admits one process: the CLI opens it while this test's copy is closed.
    if (backend.kind === 'pglite') await backend.store.close();
    try {
      const result = await files.cli(['verify']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^audit chain BROKEN at event 3: event 3 \(\S+\) was changed/);
    } finally {
      if (backend.kind === 'pglite') backend.store = await openStore(backend.url);
      files.remove();
    }
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
