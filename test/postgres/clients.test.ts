import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryRow } from '../../src/store/repositories/queries.js';
import { runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { waitFor } from '../helpers/wait.js';

describe('real clients through the gateway: psql, node-postgres, pgbench', () => {
  let s: PgScenario;
  let token: string;
  beforeAll(async () => {
    s = await startPgScenario();
    token = await s.token('alice');
  });
  afterAll(async () => {
    await s?.stop();
  });

  const conninfo = (extra = '') => `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=require ${extra}`;
  const env = () => ({ PGPASSWORD: token });

  /** Rows of sessions that ended, matching `filter`. */
  async function statements(filter: (row: QueryRow) => boolean, count: number): Promise<QueryRow[]> {
    return waitFor(async () => {
      const rows = (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).filter(filter);
      return rows.length >= count ? rows : undefined;
    }, { timeoutMs: 15_000, what: `${count} captured statements` });
  }

  it('pgbench initializes through the gateway (COPY in) and runs -S in simple, extended and prepared modes; every transaction is captured', async () => {
    const init = await runClient('pgbench', ['-i', '-s', '1', '-q', conninfo()], env(), undefined, 120_000);
    expect(init.code, init.stderr).toBe(0);
    const copies = await statements((row) => row.statement.startsWith('copy pgbench_accounts'), 1);
    expect(copies[0]).toMatchObject({ status: 'ok', commandTag: 'COPY 100000', rowCount: 100_000, details: expect.objectContaining({ copy: 'in' }) });
    expect(copies[0]!.details!.copyBytes as number).toBeGreaterThan(1_000_000);

    for (const mode of ['simple', 'extended', 'prepared'] as const) {
      const run = await runClient('pgbench', ['-n', '-S', '-c', '2', '-t', '25', '-M', mode, conninfo(`application_name=bench-${mode}`)], env());
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('number of transactions actually processed: 50/50');
      const text = mode === 'simple' ? /^SELECT abalance FROM pgbench_accounts WHERE aid = \d+;$/ : /^SELECT abalance FROM pgbench_accounts WHERE aid = \$1;$/;
      const rows = await statements((row) => text.test(row.statement) && row.protocol === (mode === 'simple' ? 'simple' : 'extended') && !seen.has(row.id), 50);
      rows.forEach((row) => seen.add(row.id));
      expect(rows).toHaveLength(50);
      expect(rows.every((row) => row.status === 'ok' && row.commandTag === 'SELECT 1' && row.rowCount === 1)).toBe(true);
      if (mode !== 'simple') expect(rows.every((row) => row.params?.length === 1 && /^\d+$/.test(row.params[0]!.value ?? ''))).toBe(true);
      if (mode === 'prepared') expect(rows.every((row) => String(row.details?.statementName).startsWith('P_'))).toBe(true);
    }
  });
  const seen = new Set<number>();

  it('records COPY out with its bytes and rows, not its data', async () => {
    const result = await runClient('psql', ['-X', '-c', '\\copy items to stdout', conninfo()], env());
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(100);
    const [row] = await statements((r) => r.statement.startsWith('COPY  items TO STDOUT'), 1);
    expect(row).toMatchObject({ status: 'ok', commandTag: 'COPY 100', rowCount: 100, details: { copy: 'out', copyBytes: Buffer.byteLength(result.stdout) } });
    expect(JSON.stringify(row)).not.toContain('item 42');
  });

  it('records a failed COPY in', async () => {
    const result = await runClient('psql', ['-X', '-c', 'copy items from stdin', conninfo()], env(), '1000\tok\t1\nnot-a-number\tbad\t2\n\\.\n');
    expect(result.stderr).toContain('invalid input syntax for type integer');
    const [row] = await statements((r) => r.statement === 'copy items from stdin', 1);
    expect(row).toMatchObject({ status: 'error', sqlstate: '22P02', details: { copy: 'in' } });
  });

  it('captures node-postgres parameters and named prepared statements', async () => {
    const client = s.client({ user: 'alice', password: token });
    await client.connect();
    await client.query({ name: 'by-id', text: 'select name from items where id = $1', values: [7] });
    await client.query({ name: 'by-id', text: 'select name from items where id = $1', values: [8] });
    await client.query('select $1::text as a, $2::int as b, $3::bytea as c', ['x y', null, Buffer.from([1, 2])]);
    await client.end();
    const named = await statements((r) => r.statement === 'select name from items where id = $1', 2);
    expect(named.map((r) => [r.params?.[0]?.value, r.details?.statementName, r.rowCount])).toEqual([
      ['7', 'by-id', 1],
      ['8', 'by-id', 1],
    ]);
    const [mixed] = await statements((r) => r.statement.startsWith('select $1::text as a'), 1);
    expect(mixed!.params).toEqual([
      { oid: 0, format: 'text', value: 'x y' },
      { oid: 0, format: 'text', value: null },
      { oid: 0, format: 'binary', value: Buffer.from([1, 2]).toString('base64') },
    ]);
  });

  it('forwards startup parameters and decodes statements in the client encoding', async () => {
    const file = join(s.tg.dataDir, 'latin1.sql');
    writeFileSync(file, Buffer.from("select length('café') as letters, current_setting('application_name') as app;\n", 'latin1'));
    const result = await runClient('psql', ['-X', '-A', '-t', '-f', file, conninfo()], { ...env(), PGCLIENTENCODING: 'LATIN1', PGAPPNAME: 'auditor-check' });
    expect(result.stdout.trim()).toBe('4|auditor-check');
    const [row] = await statements((r) => r.statement.startsWith('select length('), 1);
    expect(row!.statement).toBe("select length('café') as letters, current_setting('application_name') as app;");
  });

  it('exports the query log with custos queries as table, JSON lines and CSV, and verifies a session', async () => {
    const client = s.client({ user: 'alice', password: token });
    await client.connect();
    await client.query("select 'export, \"me\"' as t where 1 = $1", [1]);
    await client.end();
    const [row] = await statements((r) => r.statement.startsWith("select 'export"), 1);

    const jsonl = await s.tg.cli(['queries', '--session', row!.sessionId, '--format', 'jsonl']);
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const records = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.at(-1)).toMatchObject({
      identity: 'alice',
      session_id: row!.sessionId,
      target: 'orders',
      database: 'orders',
      db_user: 'app',
      protocol: 'extended',
      statement: `select 'export, "me"' as t where 1 = $1`,
      params: [{ oid: 0, format: 'text', value: '1' }],
      status: 'ok',
      command_tag: 'SELECT 1',
      row_count: 1,
    });

    const csv = await s.tg.cli(['queries', '--session', row!.sessionId, '--format', 'csv']);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toBe('id,started_at,identity,identity_id,session_id,seq,target,database,db_user,protocol,statement,params,status,command_tag,row_count,duration_ms,sqlstate,error_message,details,ticket');
    expect(csv.stdout).toContain(`"select 'export, ""me""' as t where 1 = $1"`);

    const table = await s.tg.cli(['queries', '--identity', 'alice', '--limit', '3']);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME\s+IDENTITY\s+TARGET\s+DB USER\s+SESSION\s+SEQ\s+STATUS\s+MS\s+ROWS\s+STATEMENT$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(4);

    await waitFor(async () => (await s.tg.gateway.store.sessions.get(row!.sessionId))?.state === 'closed');
    const verified = await s.tg.cli(['queries', '--session', row!.sessionId, '--verify']);
    expect(verified.stdout).toContain('query log intact');
    expect(verified.code).toBe(0);
  });
});
