import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryRow } from '../../src/store/repositories/queries.js';
import { startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { functionCall } from '../helpers/pg-protocol-streams.js';
import { RawPgClient } from '../helpers/raw-pg-client.js';
import { waitFor } from '../helpers/wait.js';

describe('statement capture (exact protocol control)', () => {
  let s: PgScenario;
  let token: string;
  beforeAll(async () => {
    s = await startPgScenario();
    token = await s.token('alice');
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** The captured rows of the client's session, once `count` are written. */
  async function rowsOf(sessionStart: number, count: number): Promise<QueryRow[]> {
    return waitFor(async () => {
      const rows = (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).filter((row) => row.id > sessionStart);
      return rows.length >= count ? rows : undefined;
    }, { timeoutMs: 10_000, what: `${count} captured rows` });
  }

  async function lastId(): Promise<number> {
    await s.tg.gateway.store.queries.list({});
    const rows = await s.tg.gateway.store.queries.list({ limit: 10_000 });
    return rows.at(-1)?.id ?? 0;
  }

  it('records each statement of a multi-statement query string, skipping those after an error', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(serialize.query("select 1; select 'a;b' as x; select 1/0; select 3"));
    await client.take();
    client.end();
    const rows = await rowsOf(start, 4);
    expect(rows.map((r) => [r.statement, r.status, r.commandTag, r.rowCount, r.sqlstate])).toEqual([
      ['select 1', 'ok', 'SELECT 1', 1, null],
      ["select 'a;b' as x", 'ok', 'SELECT 1', 1, null],
      ['select 1/0', 'error', null, null, '22012'],
      ['select 3', 'skipped', null, null, null],
    ]);
    expect(rows.map((r) => r.details?.part)).toEqual(['1/4', '2/4', '3/4', '4/4']);
  });

  it('attributes a syntax error to the statement it is in: nothing before it ran', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(serialize.query('select 1; selec 2; select 3'));
    await client.take();
    client.end();
    const rows = await rowsOf(start, 3);
    expect(rows.map((r) => [r.statement, r.status, r.sqlstate])).toEqual([
      ['select 1', 'skipped', null],
      ['selec 2', 'error', '42601'],
      ['select 3', 'skipped', null],
    ]);
  });

  it('records a pipeline: the failing Execute as error, the rest up to Sync as skipped, and goes on after Sync', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(
      serialize.parse({ name: 'div', text: 'select 10 / $1::int as q' }),
      serialize.bind({ statement: 'div', values: ['2'] }),
      serialize.execute(),
      serialize.bind({ statement: 'div', values: ['0'] }),
      serialize.execute(),
      serialize.bind({ statement: 'div', values: ['5'] }),
      serialize.execute(),
      serialize.parse({ text: 'select $1::text as t' }),
      serialize.bind({ values: ['never'] }),
      serialize.execute(),
      serialize.sync(),
      serialize.bind({ statement: 'div', values: ['1'] }),
      serialize.execute(),
      serialize.sync(),
    );
    const messages = await client.take(2);
    expect(messages.filter((m) => m.name === 'error').map((m) => m.code)).toEqual(['22012']);
    client.end();
    const rows = await rowsOf(start, 5);
    expect(rows.map((r) => [r.statement, r.params?.map((p) => p.value), r.status, r.sqlstate])).toEqual([
      ['select 10 / $1::int as q', ['2'], 'ok', null],
      ['select 10 / $1::int as q', ['0'], 'error', '22012'],
      ['select 10 / $1::int as q', ['5'], 'skipped', null],
      ['select $1::text as t', ['never'], 'skipped', null],
      ['select 10 / $1::int as q', ['1'], 'ok', null],
    ]);
    expect(rows.every((r) => r.protocol === 'extended')).toBe(true);
    expect(rows[0]!.details).toMatchObject({ statementName: 'div' });
  });

  it('records a statement whose Parse fails, with its text', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(serialize.parse({ name: 'bad', text: 'select from where' }), serialize.sync());
    await client.take();
    client.send(serialize.parse({ text: 'select nosuchcolumn from items' }), serialize.bind({}), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
    await client.take();
    client.end();
    const rows = await rowsOf(start, 2);
    expect(rows.map((r) => [r.statement, r.status, r.sqlstate, r.details?.phase])).toEqual([
      ['select from where', 'error', '42601', 'parse'],
      ['select nosuchcolumn from items', 'error', '42703', 'parse'],
    ]);
  });

  it('keeps a run suspended by Execute row limits as one row with all its rows', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(serialize.query('begin'));
    await client.take();
    client.send(
      serialize.parse({ text: 'select id from items where id <= $1 order by id' }),
      serialize.bind({ portal: 'c1', values: ['25'] }),
      serialize.execute({ portal: 'c1', rows: 10 }),
      serialize.execute({ portal: 'c1', rows: 10 }),
      serialize.flush(),
    );
    await client.until((m) => m.name === 'portalSuspended' && client.messages.filter((x) => x.name === 'portalSuspended').length === 2);
    client.send(serialize.execute({ portal: 'c1', rows: 10 }), serialize.sync());
    await client.take();
    client.send(
      serialize.bind({ portal: 'c2', values: ['100'] }),
      serialize.execute({ portal: 'c2', rows: 5 }),
      serialize.close({ type: 'P', name: 'c2' }),
      serialize.sync(),
    );
    await client.take();
    client.send(serialize.query('commit'));
    await client.take();
    client.end();
    const rows = await rowsOf(start, 4);
    const runs = rows.filter((r) => r.protocol === 'extended');
    expect(runs.map((r) => [r.status, r.rowCount, r.commandTag, r.details?.executes, r.details?.suspended ?? false, r.params?.[0]?.value])).toEqual([
      ['ok', 25, 'SELECT 5', 3, false, '25'],
      ['ok', 5, null, 1, true, '100'],
    ]);
    expect(runs[1]!.details?.endedBy).toBe('closed by the client');
  });

  it('records a function call with its arguments', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    client.send(serialize.query("select 'md5(text)'::regprocedure::oid as oid"));
    const oidRow = (await client.take()).find((m) => m.name === 'dataRow');
    const oid = Number((oidRow!.fields as string[])[0]);
    client.send(functionCall(oid, [Buffer.from('whisper')]));
    const reply = await client.take();
    expect(reply.filter((m) => m.name === "error").map((m) => m.message)).toEqual([]);
    client.end();
    const rows = await rowsOf(start, 2);
    expect(rows[1]).toMatchObject({
      protocol: 'function',
      statement: `function call (oid ${oid})`,
      status: 'ok',
      params: [{ oid: 0, format: 'text', value: 'whisper' }],
    });
  });

  it('captures binary and NULL parameters, and text that is not valid UTF-8 as base64', async () => {
    const start = await lastId();
    const client = await RawPgClient.login(s.port, 'alice', token);
    const bad = Buffer.from([0x61, 0xff, 0x62]);
    client.send(
      serialize.parse({ text: 'select $1::bytea, $2::text, $3::int4', types: [17, 25, 23] }),
      serialize.bind({ values: [Buffer.from([0, 1, 2, 255]), null, Buffer.from([0, 0, 0, 7])] }),
      serialize.execute(),
      serialize.sync(),
      serialize.parse({ text: 'select length($1)' }),
      textBind([bad]),
      serialize.execute(),
      serialize.sync(),
    );
    await client.take(2);
    client.end();
    const rows = await rowsOf(start, 2);
    expect(rows[0]!.params).toEqual([
      { oid: 17, format: 'binary', value: Buffer.from([0, 1, 2, 255]).toString('base64') },
      { oid: 25, format: 'text', value: null },
      { oid: 23, format: 'binary', value: Buffer.from([0, 0, 0, 7]).toString('base64') },
    ]);
    expect(rows[1]).toMatchObject({ status: 'error', sqlstate: '22021' });
    expect(rows[1]!.params).toEqual([{ oid: 0, format: 'text', value: bad.toString('base64'), encoding: 'base64' }]);
  });
});

/** A Bind of the unnamed statement with text-format values given as raw bytes. */
function textBind(values: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0]), Buffer.from([0, 1, 0, 0]), Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const value of values) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(value.length);
    parts.push(length, value);
  }
  parts.push(Buffer.from([0, 0]));
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = 0x42;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
