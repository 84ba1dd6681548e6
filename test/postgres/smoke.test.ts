import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';

describe('smoke', () => {
  let s: PgScenario;
  beforeAll(async () => {
    s = await startPgScenario();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('psql runs a query through the gateway', async () => {
    const token = await s.token('alice');
    const result = await runClient('psql', ['-X', '-A', '-t', '-c', 'select current_user, count(*) from items', `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=require`], { PGPASSWORD: token });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('app|100');
  });

  it('node-postgres runs a parameterized query', async () => {
    const token = await s.token('alice');
    const client = s.client({ user: 'alice', password: token });
    await client.connect();
    const result = await client.query('select $1::int + 1 as n', [41]);
    expect(result.rows).toEqual([{ n: 42 }]);
    await client.end();
    await s.tg.gateway.store.queries.list({});
    const rows = await s.tg.gateway.store.queries.list({ identity: 'alice' });
    expect(rows.length).toBeGreaterThan(0);
  });
});
