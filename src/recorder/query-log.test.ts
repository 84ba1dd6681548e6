import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyStoreTemplate, ensureStoreTemplate } from '../../test/helpers/store-template.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { openStore, type Store } from '../store/store.js';
import { QueryDigest } from './query-digest.js';
import { QueryLog, type QuerySessionMeta } from './query-log.js';

const meta = (sessionId: string): QuerySessionMeta => ({
  sessionId,
  identityId: 'idn_test',
  identityName: 'alice',
  target: 'orders',
  database: 'orders',
  dbUser: 'app',
});

describe('QueryLog', () => {
  let store: Store;
  let temp: { path: string; remove(): void };
  /** Insert calls seen by the store, and a switch that makes them fail. */
  const calls = { inserts: 0, completes: 0, failing: false, gate: null as Promise<void> | null };
  let queries: Store['queries'];

  beforeAll(async () => {
    temp = makeTempDir('cql-');
    const dir = join(temp.path, 'store');
    copyStoreTemplate(process.env.CUSTOS_TEST_STORE_TEMPLATE ?? (await ensureStoreTemplate()), dir);
    store = await openStore(`pglite://${dir}`, { worker: false });
    const real = store.queries;
    queries = {
      ...real,
      writeBatch: async (inserts: string | null, completions: string | null) => {
        if (calls.failing) throw new Error('disk full');
        if (calls.gate) await calls.gate;
        if (inserts) calls.inserts += 1;
        if (completions) calls.completes += 1;
        return real.writeBatch(inserts, completions);
      },
    };
  });
  afterAll(async () => {
    await store?.close();
    temp?.remove();
  });

  it('writes thousands of statements in a few batched inserts, with a digest that matches the stored rows', async () => {
    const log = new QueryLog({ queries });
    const session = log.openSession(meta('ses_batch'));
    const before = calls.inserts;
    for (let i = 0; i < 5000; i++) {
      const statement = session.begin({ protocol: 'extended', statement: 'select $1', params: [{ oid: 23, format: 'text', value: String(i) }] });
      session.finish(statement, { status: 'ok', commandTag: 'SELECT 1', rowCount: 1 });
    }
    const stats = await session.close();
    expect(stats).toMatchObject({ statements: 5000, ok: 5000, error: 0, unfinished: 0 });
    expect(calls.inserts - before).toBeLessThanOrEqual(3);
    const digest = new QueryDigest();
    let afterSeq = 0;
    while (true) {
      const page = await store.queries.bySession('ses_batch', afterSeq, 2000);
      for (const { id: _id, ...row } of page) digest.add(row);
      if (page.length < 2000) break;
      afterSeq = page.at(-1)!.seq;
    }
    expect(digest.count).toBe(5000);
    expect(digest.finish()).toBe(stats.digest);
    await log.close();
  });

  it('holds a partial batch that arrived during a write for the timer, instead of inserting it right away', async () => {
    const log = new QueryLog({ queries }, { batchRows: 4, maxDelayMs: 60_000 });
    const session = log.openSession(meta('ses_partial'));
    const run = (n: number) => {
      for (let i = 0; i < n; i++) session.finish(session.begin({ protocol: 'simple', statement: 'select 1' }), { status: 'ok' });
    };
    let open!: () => void;
    calls.gate = new Promise((resolve) => (open = resolve));
    const before = calls.inserts;
    run(4); // a full batch: written at once, held at the gate
    run(2); // arrives while that write is in flight
    open();
    calls.gate = null;
    await waitFor(() => calls.inserts === before + 1, { what: 'the full batch to be written' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls.inserts).toBe(before + 1);
    run(2); // now a full batch again
    await waitFor(() => calls.inserts === before + 2, { what: 'the next full batch to be written' });
    const stats = await session.close();
    expect(stats).toMatchObject({ statements: 8, ok: 8 });
    expect(await store.queries.count({ sessionId: 'ses_partial' })).toEqual({ ok: 8 });
    await log.close();
  });

  it('writes a long-running statement as unfinished, then completes it', async () => {
    const log = new QueryLog({ queries }, { unfinishedAfterMs: 100 });
    const session = log.openSession(meta('ses_long'));
    const statement = session.begin({ protocol: 'simple', statement: 'select pg_sleep(1)' });
    const early = await waitFor(async () => (await store.queries.bySession('ses_long', 0, 10))[0]);
    expect(early).toMatchObject({ status: 'unfinished', durationMs: null });
    session.finish(statement, { status: 'cancelled', sqlstate: '57014', errorMessage: 'canceling statement due to user request' });
    const stats = await session.close();
    const [final] = await store.queries.bySession('ses_long', 0, 10);
    expect(final).toMatchObject({ status: 'cancelled', sqlstate: '57014' });
    expect(final!.durationMs).toBeGreaterThan(0);
    const digest = new QueryDigest();
    const { id: _id, ...row } = final!;
    digest.add(row);
    expect(digest.finish()).toBe(stats.digest);
    await log.close();
  });

  it('completes an unfinished row even when the statement ends while an earlier batch is still being written', async () => {
    const log = new QueryLog({ queries }, { unfinishedAfterMs: 10, maxDelayMs: 1 });
    const session = log.openSession(meta('ses_race'));
    let release!: () => void;
    calls.gate = new Promise((resolve) => (release = resolve));
    const quick = session.begin({ protocol: 'simple', statement: 'quick' });
    const slow = session.begin({ protocol: 'simple', statement: 'slow' });
    session.finish(quick, { status: 'ok' }); // its insert now waits at the gate
    await waitFor(() => slow.written === 1, { what: 'the sweep to queue slow as unfinished' });
    session.finish(slow, { status: 'ok', commandTag: 'SELECT 1' }); // its completion is queued before its row is written
    calls.gate = null;
    release();
    await session.close();
    const rows = await store.queries.bySession('ses_race', 0, 10);
    expect(rows.map((row) => [row.statement, row.status, row.commandTag])).toEqual([
      ['quick', 'ok', null],
      ['slow', 'ok', 'SELECT 1'],
    ]);
    await log.close();
  });

  it('reports congestion above its high-water mark and refuses statements at its limit', async () => {
    const log = new QueryLog({ queries }, { maxPending: 40, maxDelayMs: 10_000, batchRows: 1000 });
    const changes: boolean[] = [];
    log.onCongestion((congested) => changes.push(congested));
    const session = log.openSession(meta('ses_full'));
    const open = Array.from({ length: 40 }, (_, i) => session.begin({ protocol: 'simple', statement: `select ${i}` }));
    expect(log.congested).toBe(true);
    expect(() => session.begin({ protocol: 'simple', statement: 'one too many' })).toThrow(/too far behind/);
    for (const statement of open) session.finish(statement, { status: 'ok' });
    await session.close();
    expect(log.congested).toBe(false);
    expect(changes).toEqual([true, false]);
    await log.close();
  });

  it('fails when the store cannot be written, refuses statements, keeps what it holds, and recovers', async () => {
    const failures: string[] = [];
    const log = new QueryLog({ queries }, { maxDelayMs: 10, retryMs: 100 });
    log.onFailure((error) => failures.push(error.message));
    const session = log.openSession(meta('ses_fail'));
    calls.failing = true;
    session.finish(session.begin({ protocol: 'simple', statement: 'held' }), { status: 'ok' });
    await waitFor(() => failures.length === 1);
    expect(failures[0]).toBe('the query log cannot be written: disk full');
    expect(() => session.begin({ protocol: 'simple', statement: 'refused' })).toThrow(/cannot be written/);
    await expect(log.flush()).rejects.toThrow(/cannot be written/);
    calls.failing = false;
    await waitFor(() => log.failed === null, { what: 'the query log to recover' });
    expect((await store.queries.bySession('ses_fail', 0, 10)).map((row) => row.statement)).toEqual(['held']);
    session.finish(session.begin({ protocol: 'simple', statement: 'after' }), { status: 'ok' });
    const stats = await session.close();
    expect(stats).toMatchObject({ statements: 2 });
    await log.close();
  });
});
