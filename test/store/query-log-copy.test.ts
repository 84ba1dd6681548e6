import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueryDigest } from '../../src/recorder/query-digest.js';
import { QueryLog, type QuerySessionMeta } from '../../src/recorder/query-log.js';
import type { RecorderError } from '../../src/recorder/errors.js';
import { BACKENDS, openBackend, stopSharedPostgres, type StoreBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';

afterAll(() => stopSharedPostgres());

/** Text that COPY's format gives a meaning to, and text that only looks like it does. */
const AWKWARD = ['tab\there', 'line\nbreak', 'carriage\rreturn', 'back\\slash', '\\N', '\\.', 'ünïcødé 😀', "quote ' and \"", ''];

const meta = (sessionId: string): QuerySessionMeta => ({
  sessionId,
  identityId: 'idt_\\1',
  identityName: 'ali\tce',
  target: 'orders\ndb',
  database: 'orders',
  dbUser: 'app\\ro',
});

async function storedDigest(backend: StoreBackend, sessionId: string): Promise<{ digest: string; statements: string[] }> {
  const digest = new QueryDigest();
  const rows = await backend.store.queries.bySession(sessionId, 0, 1000);
  for (const { id: _id, ...row } of rows) digest.add(row);
  return { digest: digest.finish(), statements: rows.map((row) => row.statement) };
}

describe.each(BACKENDS)('query log batches written with COPY on %s', (kind) => {
  let backend: StoreBackend;
  beforeEach(async () => {
    backend = await openBackend(kind);
  });
  afterEach(() => backend.close());

  it('stores every character as captured: the rows read back hash to the session digest', async () => {
    const log = new QueryLog(backend.store, { unfinishedAfterMs: 50 });
    const session = log.openSession(meta('ses_awkward'));
    // Running long enough to be written as unfinished: its completion shares a batch with new rows.
    const long = session.begin({ protocol: 'simple', statement: 'select pg_sleep(\t1)', details: { note: 'a\\b' } });
    await waitFor(async () => (await backend.store.queries.bySession('ses_awkward', 0, 10)).length === 1, { what: 'the unfinished row' });
    for (const text of AWKWARD) {
      const statement = session.begin({
        protocol: 'extended',
        statement: text,
        params: [{ oid: 25, format: 'text', value: text }],
        details: { text },
      });
      session.finish(statement, { status: 'error', sqlstate: '42601', errorMessage: `near "${text}"`, commandTag: text || null, rowCount: 0 });
    }
    session.finish(long, { status: 'ok', commandTag: 'SELECT 1', rowCount: 1, details: { more: '\n' } });
    const stats = await session.close();
    expect(stats).toMatchObject({ statements: AWKWARD.length + 1, error: AWKWARD.length, ok: 1 });

    const stored = await storedDigest(backend, 'ses_awkward');
    expect(stored.statements).toEqual(['select pg_sleep(\t1)', ...AWKWARD]);
    expect(stored.digest).toBe(stats.digest);
    const [first, ...rest] = await backend.store.queries.bySession('ses_awkward', 0, 100);
    expect(first).toMatchObject({ status: 'ok', rowCount: 1, identityName: 'ali\tce', target: 'orders\ndb', dbUser: 'app\\ro', details: { note: 'a\\b', more: '\n' } });
    expect(rest.map((row) => row.params?.[0]?.value)).toEqual(AWKWARD);
    expect(rest.map((row) => row.errorMessage)).toEqual(AWKWARD.map((text) => `near "${text}"`));
    await log.close();
  });

  it('fails closed when the store refuses a batch, and writes it once the store takes it again', async () => {
    const failures: RecorderError[] = [];
    // The embedded store is reopened by tamper: the log follows it.
    const store = { get queries() { return backend.store.queries; } };
    const log = new QueryLog(store, { retryMs: 50, onFailure: (error) => failures.push(error) });
    await backend.tamper(`alter table queries add constraint refuse_boom check (statement <> 'boom')`);
    const session = log.openSession(meta('ses_refused'));
    session.finish(session.begin({ protocol: 'simple', statement: 'select 1' }), { status: 'ok' });
    session.finish(session.begin({ protocol: 'simple', statement: 'boom' }), { status: 'ok' });
    await waitFor(() => failures.length > 0, { what: 'the query log to fail' });
    expect(failures[0]!.message).toMatch(/refuse_boom/);
    expect(() => session.begin({ protocol: 'simple', statement: 'select 2' })).toThrow(/cannot be written/);
    expect(await backend.store.queries.count({ sessionId: 'ses_refused' })).toEqual({});

    await backend.tamper('alter table queries drop constraint refuse_boom');
    await waitFor(() => log.failed === null, { what: 'the query log to recover' });
    const stats = await session.close();
    expect(stats.writeError).toBeUndefined();
    const stored = await storedDigest(backend, 'ses_refused');
    expect(stored.statements).toEqual(['select 1', 'boom']);
    expect(stored.digest).toBe(stats.digest);
    await log.close();
  });
});
