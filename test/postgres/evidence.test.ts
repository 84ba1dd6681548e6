import net from 'node:net';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';
import type { QueryRow } from '../../src/store/repositories/queries.js';
import { runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { RawPgClient } from '../helpers/raw-pg-client.js';
import { waitFor } from '../helpers/wait.js';

const HIDDEN = "SELECT 'HIDDEN-'||count(*) FROM t";

/** The attacks of issue 9 (findings 2, 3 and 5), through the gateway in front of a real PostgreSQL. */
describe('postgres evidence that cannot be sidestepped', () => {
  let s: PgScenario;
  let token: string;
  beforeAll(async () => {
    s = await startPgScenario();
    token = await s.token('alice');
    const admin = await s.pg.admin('orders');
    await admin.query('create table t (id int primary key)');
    await admin.query('insert into t values (1), (2), (3), (4)');
    await admin.query('grant all on t to app');
    await admin.query('create role pii_reader');
    await admin.query('grant pii_reader to app');
    await admin.end();
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** The rows of a session once it has ended, in order, and that `custos queries --verify` accepts them. */
  async function endedSession(sessionId: string): Promise<QueryRow[]> {
    await waitFor(async () => (await s.tg.gateway.store.sessions.get(sessionId))?.state === 'closed', { what: 'the session to end' });
    const verified = await s.tg.cli(['queries', '--session', sessionId, '--verify']);
    expect(verified.stdout).toContain('query log intact');
    expect(verified.code).toBe(0);
    return s.tg.gateway.store.queries.list({ sessionId, limit: 1000 });
  }

  async function lastSessionOf(identity: string): Promise<string> {
    const [session] = await s.tg.gateway.store.sessions.list({ identity, limit: 1 });
    return session!.id;
  }

  it('logs the statement the server ran when a later Parse of the same name is refused (42P05), sent one by one or pipelined', async () => {
    const client = await RawPgClient.login(s.port, 'alice', token);
    const sessionId = await lastSessionOf('alice');
    client.send(serialize.parse({ name: 's1', text: HIDDEN }), serialize.sync());
    await client.take();
    client.send(serialize.parse({ name: 's1', text: "SELECT 'harmless'" }), serialize.sync());
    expect((await client.take()).find((m) => m.name === 'error')?.code).toBe('42P05');
    client.send(serialize.bind({ statement: 's1' }), serialize.execute(), serialize.sync());
    expect((await client.take()).find((m) => m.name === 'dataRow')?.fields).toEqual(['HIDDEN-4']);
    // The same, with everything sent at once: the Bind waits for the server's answer to the second Parse.
    client.send(
      serialize.parse({ name: 's3', text: HIDDEN }),
      serialize.sync(),
      serialize.parse({ name: 's3', text: "SELECT 'harmless'" }),
      serialize.sync(),
      serialize.bind({ statement: 's3' }),
      serialize.execute(),
      serialize.sync(),
    );
    expect((await client.take(3)).filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['HIDDEN-4']]);
    client.end();
    const rows = await endedSession(sessionId);
    expect(rows.map((r) => [r.statement, r.status, r.commandTag, r.sqlstate])).toEqual([
      ["SELECT 'harmless'", 'error', null, '42P05'],
      [HIDDEN, 'ok', 'SELECT 1', null],
      ["SELECT 'harmless'", 'error', null, '42P05'],
      [HIDDEN, 'ok', 'SELECT 1', null],
    ]);
  });

  it('logs a DELETE as the DELETE, with its tag, when a Parse of its name was skipped in an errored pipeline', async () => {
    const client = await RawPgClient.login(s.port, 'alice', token);
    const sessionId = await lastSessionOf('alice');
    client.send(serialize.parse({ name: 's2', text: 'DELETE FROM t WHERE id=2' }), serialize.sync());
    await client.take();
    client.send(serialize.parse({ text: 'SELECT 1/0' }), serialize.bind({}), serialize.execute(), serialize.parse({ name: 's2', text: 'SELECT 2' }), serialize.sync());
    expect((await client.take()).find((m) => m.name === 'error')?.code).toBe('22012');
    client.send(serialize.bind({ statement: 's2' }), serialize.execute(), serialize.sync());
    expect((await client.take()).find((m) => m.name === 'commandComplete')?.text).toBe('DELETE 1');
    client.end();
    const rows = await endedSession(sessionId);
    expect(rows.map((r) => [r.statement, r.status, r.commandTag, r.sqlstate])).toEqual([
      ['SELECT 1/0', 'error', null, '22012'],
      ['DELETE FROM t WHERE id=2', 'ok', 'DELETE 1', null],
    ]);
  });

  it('ends a session past postgres.maxPreparedStatements with 53400 and records why', async () => {
    const config = s.tg.gateway.config.postgres;
    const saved = config.maxPreparedStatements;
    config.maxPreparedStatements = 5;
    onTestFinished(() => {
      config.maxPreparedStatements = saved;
    });
    const client = await RawPgClient.login(s.port, 'alice', token);
    const sessionId = await lastSessionOf('alice');
    for (let i = 0; i < 6; i++) client.send(serialize.parse({ name: `p${i}`, text: `SELECT ${i}` }));
    client.send(serialize.sync());
    const error = await client.until((m) => m.name === 'error');
    expect(error).toMatchObject({ code: '53400', severity: 'FATAL' });
    expect(String(error.message)).toMatch(/more than 5 named prepared statements and portals, .*\(postgres\.maxPreparedStatements\)/);
    await client.closedByServer();
    await waitFor(async () => (await s.tg.gateway.store.sessions.get(sessionId))?.state === 'closed');
    expect((await s.tg.gateway.store.sessions.get(sessionId))!.endReason).toMatch(/more than 5 named prepared statements/);
    const events = await s.tg.gateway.store.audit.list({ sessionId, type: 'protocol.violation' });
    expect(events.map((e) => [e.actor, (e.data as { code: string }).code])).toEqual([['alice', 'prepared_statement_limit']]);
  });

  it('refuses options=-c role=… and a raw role parameter with 28000, and records who tried', async () => {
    const viaOptions = s.client({ user: 'alice', password: token, options: '-c role=pii_reader' });
    const refused = await viaOptions.connect().then(
      () => null,
      (err: { code?: string; message: string }) => err,
    );
    expect(refused).toMatchObject({ code: '28000', message: expect.stringContaining('the setting "role" in the startup parameter "options" would change the identity') });
    await viaOptions.end().catch(() => undefined);

    const raw = await RawPgClient.login(s.port, 'alice', token, 'orders', [['role', 'pii_reader']]).catch((err: Error & { code?: string; hint?: string }) => err);
    expect(raw).toMatchObject({ code: '28000', message: expect.stringContaining('the startup parameter "role" would change'), hint: expect.stringContaining('SET ROLE') });

    const events = await waitFor(async () => {
      const found = await s.tg.gateway.store.audit.list({ type: 'postgres.startup.refused', limit: 10 });
      return found.length >= 2 ? found : undefined;
    });
    expect(events.map((e) => [e.actor, e.identity, e.target, (e.data as { parameter: string }).parameter, (e.data as { setting: string | null }).setting, (e.data as { value: string }).value])).toEqual(
      expect.arrayContaining([
        ['alice', 'alice', 'orders', 'options', 'role', 'pii_reader'],
        ['alice', 'alice', 'orders', 'role', null, 'pii_reader'],
      ]),
    );
    // Neither reached the database: no session was opened for them.
    expect((await s.tg.gateway.store.sessions.list({ identity: 'alice', limit: 100 })).every((session) => !JSON.stringify(session.details).includes('pii_reader'))).toBe(true);
  });

  it('records the startup parameters it forwards in the session row and its start event', async () => {
    const result = await runClient('psql', ['-X', '-A', '-t', '-c', "select current_setting('search_path'), current_user", `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=require`], {
      PGPASSWORD: token,
      PGAPPNAME: 'evidence-check',
      PGOPTIONS: '-c search_path=public,pg_catalog',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('public,pg_catalog|app');
    const [session] = await s.tg.gateway.store.sessions.list({ identity: 'alice', limit: 1 });
    const expected = { application_name: 'evidence-check', options: '-c search_path=public,pg_catalog' };
    expect(session!.details).toMatchObject({ startupParameters: expected });
    const [start] = await s.tg.gateway.store.audit.list({ sessionId: session!.id, type: 'session.start' });
    expect((start!.data as { details: unknown }).details).toMatchObject({ startupParameters: expected });
  });

  it('records a client that misbehaves before authenticating under the name it claimed, not as that identity acting', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // A startup naming bob, then a Query where the SCRAM response belongs.
    socket.write(Buffer.concat([startupMessage([['user', 'bob'], ['database', 'orders']]), serialize.query('select 1')]));
    await closed;
    expect(Buffer.concat(answer).toString('latin1')).toContain('08P01');
    const event = await waitFor(async () =>
      (await s.tg.gateway.store.audit.list({ type: 'protocol.violation', limit: 50 })).find((e) => (e.data as { claimed?: string }).claimed === 'bob'),
    );
    expect(event).toMatchObject({ actor: 'claimed:bob', identity: 'bob', data: { code: 'protocol_violation', claimed: 'bob' } });
  });
});
