import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { INSTALL_PG_CLIENTS, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { spawnInPty } from '../helpers/pty.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Live PostgreSQL sessions ended from outside: `sessions kill` (through this gateway or
 * another sharing the PostgreSQL store) and a revoked token.
 */
describe('ending live PostgreSQL sessions (PostgreSQL store, two gateways)', () => {
  let s: PgScenario;
  let other: TestGateway;
  beforeAll(async () => {
    s = await startPgScenario({ postgresStore: true });
    other = await startTestGateway({ storeUrl: s.storeUrl!, settings: { nodeName: 'node-b' } });
  });
  afterAll(async () => {
    await other?.stop();
    await s?.stop();
  });

  const liveSessionOf = async (identity: string) =>
    waitFor(async () => (await s.tg.gateway.store.sessions.list({ identity, state: 'live' }))[0], { what: `a live session of ${identity}` });

  it('sessions kill ends a psql session with FATAL 57P01 naming who ended it and why', async () => {
    const token = await s.token('alice');
    const term = spawnInPty(requireBinary('psql', INSTALL_PG_CLIENTS), ['-X', `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=disable`], {
      env: { PGPASSWORD: token },
    });
    await term.waitFor('orders=>');
    term.write('select 40 + 2 as answer;\r');
    await term.waitFor(/42/);
    const session = await liveSessionOf('alice');
    const killed = await s.tg.cli(['sessions', 'kill', session.id, '--reason', 'maintenance window']);
    expect(killed.code, killed.stderr).toBe(0);
    term.write('select 1;\r');
    await term.waitFor(/FATAL: +terminating connection: session ended by os:\S+@\S+: maintenance window/);
    term.write('\\q\r');
    await term.exited;
    const row = await s.tg.gateway.store.sessions.get(session.id);
    expect(row).toMatchObject({ state: 'closed', endReason: expect.stringMatching(/^ended by os:\S+: maintenance window$/) });
    expect((row!.stats as { queries: { statements: number } }).queries.statements).toBeGreaterThanOrEqual(1);
  });

  it('a kill issued through another gateway sharing the store reaches the gateway holding the session', async () => {
    const token = await s.token('robot');
    const client = s.client({ user: 'robot', password: token });
    await client.connect();
    // The FATAL error comes first; node-postgres then reports the closed connection too.
    const failed = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    await client.query('select 1');
    const session = await liveSessionOf('robot');
    expect(session.node).toBe('test-node');
    const killed = await other.cli(['sessions', 'kill', session.id, '--reason', 'from node b']);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stdout).toContain('ended by os:');
    const error = await failed;
    expect(error.code).toBe('57P01');
    expect(error.message).toMatch(/^terminating connection: session ended by os:\S+: from node b$/);
    await client.end().catch(() => undefined);
  });

  it('revoking the token a session was opened with ends it within a second, with the reason', async () => {
    const created = (await s.op('token.create', { identity: 'alice', ttl: '1h' })) as { id: string; token: string };
    const client = s.client({ user: 'alice', password: created.token });
    await client.connect();
    // The FATAL error comes first; node-postgres then reports the closed connection too.
    const failed = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    await client.query('select 1');
    const session = await waitFor(async () =>
      (await s.tg.gateway.store.sessions.list({ identity: 'alice', state: 'live' })).find((row) => row.credentialId === created.id),
    );
    // Revoked through the other gateway's store connection: the change is announced to every gateway.
    const revoked = await other.cli(['token', 'revoke', created.id, '--reason', 'leaked in a log']);
    expect(revoked.code, revoked.stderr).toBe(0);
    const error = await failed;
    expect(error.code).toBe('57P01');
    expect(error.message).toBe(`terminating connection: access revoked: token ${created.id} was revoked`);
    const row = await waitFor(async () => {
      const found = await s.tg.gateway.store.sessions.get(session.id);
      return found?.state === 'closed' ? found : undefined;
    });
    expect(row.endReason).toBe(`access revoked: token ${created.id} was revoked`);
    await client.end().catch(() => undefined);
  });
});
