import { spawn } from 'node:child_process';
import net from 'node:net';
import { serialize } from 'pg-protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { clientProof } from '../../src/core/scram.js';
import { cancelRequest, sslRequest, startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';
import { prepareGatewayFiles, spawnGateway, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { INSTALL_PG_CLIENTS, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { frontendStream, seededRandom } from '../helpers/pg-protocol-streams.js';
import { RawPgClient } from '../helpers/raw-pg-client.js';
import { requireBinary } from '../helpers/binaries.js';
import { waitFor } from '../helpers/wait.js';

/** Connects, sends `bytes`, and resolves with everything received once the gateway closes. */
function sendAndWaitForClose(port: number, bytes: Buffer, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway did not close the connection; received ${Buffer.concat(received).toString('latin1')}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
    socket.once('connect', () => socket.write(bytes));
  });
}

describe('postgres robustness (PostgreSQL store)', () => {
  let s: PgScenario;
  let token: string;
  let healthy: pg.Client;
  beforeAll(async () => {
    s = await startPgScenario({ postgresStore: true, settings: { postgres: { maxMessageBytes: 1024 * 1024 } } });
    token = await s.token('alice');
    healthy = s.client({ user: 'alice', password: token });
    // The last test makes the query log fail, which ends every session, this one included.
    healthy.on('error', () => undefined);
    await healthy.connect();
  });
  afterAll(async () => {
    await healthy?.end().catch(() => undefined);
    await s?.stop();
  });

  /** For this test only: connections that stall in startup are closed after 1.5 s (the setting is read per connection). */
  function shortStartupTimeout(): void {
    const config = s.tg.gateway.config.postgres;
    const saved = config.startupTimeoutMs;
    config.startupTimeoutMs = 1500;
    onTestFinished(() => {
      config.startupTimeoutMs = saved;
    });
  }

  /** The long-lived session every other test must leave untouched. */
  async function healthyStillWorks(): Promise<void> {
    expect((await healthy.query('select $1::int * 2 as n', [21])).rows).toEqual([{ n: 42 }]);
  }

  it('routes a CancelRequest received by another gateway sharing the store', async () => {
    const other: TestGateway = await startTestGateway({
      storeUrl: s.storeUrl!,
      settings: { nodeName: 'node-b', listen: { postgres: '127.0.0.1:0' }, postgres: { allowPlaintext: true } },
    });
    try {
      const session = await RawPgClient.login(s.port, 'alice', token);
      const key = session.key!;
      session.send(serialize.query('select pg_sleep(30)'));
      await waitFor(async () => {
        const admin = await s.pg.admin();
        const { rows } = await admin.query("select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'");
        await admin.end();
        return rows.length === 1;
      });
      const closed = await sendAndWaitForClose(other.address('postgres').port, cancelRequest(key.processId, key.secretKey));
      expect(closed.length).toBe(0);
      const error = await session.until((m) => m.name === 'error');
      expect(error).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
      await session.take();
      session.end();
      const row = await waitFor(async () => {
        const [found] = await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 }).then((rows) => rows.filter((r) => r.statement === 'select pg_sleep(30)'));
        return found;
      });
      expect(row).toMatchObject({ status: 'cancelled', sqlstate: '57014' });
      // The mapping lives only as long as the session.
      await waitFor(async () => (await s.tg.gateway.store.sessions.get(row.sessionId))?.state === 'closed');
      expect(await s.tg.gateway.store.cancelKeys.get(key.processId)).toBeNull();
    } finally {
      await other.stop();
    }
  });

  it('streams a 100k-row result with bounded gateway memory', async () => {
    const psql = requireBinary('psql', INSTALL_PG_CLIENTS);
    const sql = "select g, repeat('x', 1000) from generate_series(1, 100000) g";
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.heapUsed + now.arrayBuffers - (before.heapUsed + before.arrayBuffers));
    }, 5);
    const bytes = await new Promise<number>((resolve, reject) => {
      const child = spawn(psql, ['-X', '-A', '-t', '-c', sql, `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=disable`], {
        env: { ...process.env, PGPASSWORD: token, FETCH_COUNT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let count = 0;
      child.stdout.on('data', (chunk: Buffer) => (count += chunk.length));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(count) : reject(new Error(`psql exited ${code}`))));
    });
    clearInterval(sampler);
    expect(bytes).toBeGreaterThan(100_000_000);
    // The result is over 100 MB; what the gateway holds at any moment must stay a small fraction of it.
    expect(peak).toBeLessThan(48 * 1024 * 1024);
    const [row] = await waitFor(async () => {
      const rows = (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).filter((r) => r.statement === sql);
      return rows.length ? rows : undefined;
    });
    expect(row).toMatchObject({ status: 'ok', rowCount: 100_000, commandTag: 'SELECT 100000' });
    await healthyStillWorks();
  });

  it('serves 200 concurrent connections', async () => {
    const since = new Date();
    const clients = Array.from({ length: 200 }, () => s.client({ user: 'alice', password: token }));
    for (const client of clients) client.on('error', () => undefined);
    const results = await Promise.all(
      clients.map(async (client, i) => {
        await client.connect();
        const { rows } = await client.query('select $1::int as i', [i]);
        return rows[0].i as number;
      }),
    );
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // `since` selects sessions overlapping the window; these are the ones that started in it.
    const opened = (await s.tg.gateway.store.sessions.list({ identity: 'alice', since, limit: 1000 })).filter((row) => row.startedAt >= since);
    expect(opened.filter((session) => session.state === 'live')).toHaveLength(200);
    await Promise.all(clients.map((client) => client.end()));
    await healthyStillWorks();
  });

  it('ends connections that send garbage before or during startup with 08P01, and records them', async () => {
    shortStartupTimeout(); // garbage that looks like a startup packet then waits for authentication
    const random = seededRandom(7);
    const inputs: Buffer[] = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0, 0, 0, 3, 1, 2, 3, 4]),
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]),
      Buffer.from([0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 0]),
    ];
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.alloc(8 + Math.floor(random() * 100));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      if (random() < 0.5) bytes.writeInt32BE(8 + Math.floor(random() * 200), 0);
      if (random() < 0.3) bytes.writeInt32BE(0x00030000, 4);
      inputs.push(bytes);
    }
    const answers = await Promise.all(inputs.map((bytes) => sendAndWaitForClose(s.port, bytes)));
    for (const answer of answers) {
      // Either the connection was simply closed, or it got an error (08P01) or an auth request for a valid-looking startup.
      if (answer.length > 0) expect(['E', 'R', 'N', 'S']).toContain(String.fromCharCode(answer[0]!));
    }
    expect(answers.some((answer) => answer.toString('latin1').includes('08P01'))).toBe(true);
    await waitFor(async () => (await s.tg.gateway.store.audit.list({ type: 'protocol.violation', limit: 100 })).length >= 3);
    await healthyStillWorks();
  });

  it('ends a session that sends a malformed, unknown or oversized message with 08P01, and nothing else', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from([0x7a, 0, 0, 0, 4]), /invalid frontend message type 'z'/],
      [Buffer.from([0x51, 0, 0, 0, 2]), /invalid message length 2/],
      [serialize.query('x'.repeat(2 * 1024 * 1024)), /larger than the gateway accepts \(1048576 bytes\)/],
      [Buffer.from([0x44, 0, 0, 0, 6, 0x51, 0]), /invalid describe target/],
    ];
    for (const [bytes, message] of cases) {
      const client = await RawPgClient.login(s.port, 'alice', token);
      client.send(bytes);
      const error = await client.until((m) => m.name === 'error');
      expect(error.code).toBe('08P01');
      expect(String(error.message)).toMatch(message);
      await client.closedByServer();
    }
    await healthyStillWorks();
  });

  it('survives sessions sending mutated valid streams', async () => {
    const random = seededRandom(11);
    const { bytes } = frontendStream();
    const valid = bytes.subarray(0, bytes.length - 5); // without Terminate
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const client = await RawPgClient.login(s.port, 'alice', token);
        const mutated = Buffer.from(valid);
        for (let m = 0; m < 3; m++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        client.send(mutated);
        // Whatever happens, the gateway answers or closes; it never hangs or crashes.
        await Promise.race([client.closedByServer(5000).catch(() => undefined), client.until((m) => m.name === 'readyForQuery', 5000).catch(() => undefined)]);
        client.socket.destroy();
      }),
    );
    await healthyStillWorks();
  });

  it('closes a connection whose startup never completes, and records it', async () => {
    shortStartupTimeout();
    const silent = await sendAndWaitForClose(s.port, Buffer.alloc(0));
    expect(silent.toString('latin1')).toMatch(/08P01.*startup not completed within 1500 ms/);
    const half = startupMessage([['user', 'alice'], ['database', 'orders']]);
    expect((await sendAndWaitForClose(s.port, half.subarray(0, 10))).toString('latin1')).toContain('08P01');
    // Stuck in the TLS handshake: closed as well.
    expect((await sendAndWaitForClose(s.port, sslRequest())).toString('latin1')).toBe('S');
    await waitFor(async () => (await s.tg.gateway.store.audit.list({ type: 'protocol.violation', limit: 500 })).some((e) => (e.data as { code?: string }).code === 'startup_timeout'));
    await healthyStillWorks();
  });

  it('turns away connections beyond postgres.maxStartupConnections with 53300', async () => {
    const config = s.tg.gateway.config.postgres;
    const saved = config.maxStartupConnections;
    config.maxStartupConnections = 3;
    const idle = await Promise.all(Array.from({ length: 3 }, () => RawPgClient.connect(s.port)));
    try {
      await waitFor(async () => {
        const answer = await sendAndWaitForClose(s.port, Buffer.alloc(0));
        return answer.toString('latin1').includes('53300');
      });
    } finally {
      config.maxStartupConnections = saved;
      for (const client of idle) client.socket.destroy();
    }
    await healthyStillWorks();
  });

  it('ends the session record when the client leaves while the session is being set up', async () => {
    const before = (await s.tg.gateway.store.sessions.list({ identity: 'alice', limit: 10_000 })).length;
    const client = await RawPgClient.connect(s.port);
    client.send(startupMessage([['user', 'alice'], ['database', 'orders']]));
    await client.until((m) => m.name === 'authenticationSASL');
    const bare = 'n=,r=abcdefghijklmnop';
    client.send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', `n,,${bare}`));
    const serverFirst = (await client.until((m) => m.name === 'authenticationSASLContinue')).data as string;
    const attributes = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as [string, string]));
    const withoutProof = `c=biws,r=${attributes.get('r')}`;
    const { proof } = clientProof(token, Buffer.from(attributes.get('s')!, 'base64'), Number(attributes.get('i')), `${bare},${serverFirst},${withoutProof}`);
    client.send(serialize.sendSCRAMClientFinalMessage(`${withoutProof},p=${proof.toString('base64')}`));
    client.socket.destroy();
    const session = await waitFor(async () => {
      const rows = await s.tg.gateway.store.sessions.list({ identity: 'alice', limit: 10_000 });
      return rows.length > before ? rows[0] : undefined;
    });
    await waitFor(async () => (await s.tg.gateway.store.sessions.get(session.id))?.state === 'closed', { what: 'the abandoned session to be closed' });
    await healthyStillWorks();
  });

  it('reports an unreachable upstream with 08004 and ends the session record', async () => {
    await s.apply(`
kind: target
name: gone
spec:
  protocol: postgres
  address: 127.0.0.1:1
  labels: { env: test }
`);
    const client = s.client({ user: 'alice', password: token, database: 'gone' });
    const error = (await client.connect().catch((err: Error) => err)) as Error & { code?: string };
    expect(error.code).toBe('08004');
    expect(error.message).toMatch(/could not log in to target "gone" as database user "app": cannot reach 127\.0\.0\.1:1: ECONNREFUSED/);
    const [session] = await s.tg.gateway.store.sessions.list({ target: 'gone', limit: 1 });
    expect(session).toMatchObject({ state: 'closed', endReason: expect.stringContaining('upstream login failed') });
  });

  it('detects a changed or deleted query row against the digest in the session end event', async () => {
    const client = s.client({ user: 'alice', password: token });
    await client.connect();
    await client.query("select 'evidence' as a");
    await client.query('select $1::int as b', [2]);
    await client.end();
    const row = await waitFor(async () => (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).find((r) => r.statement === "select 'evidence' as a"));
    await waitFor(async () => (await s.tg.gateway.store.sessions.get(row.sessionId))?.state === 'closed');
    const [end] = await s.tg.gateway.store.audit.list({ sessionId: row.sessionId, type: 'session.end' });
    expect((end!.data as { stats: { queries: Record<string, unknown> } }).stats.queries).toMatchObject({ statements: 2, ok: 2, error: 0, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(await s.op('queries.verify', { session: row.sessionId })).toMatchObject({ ok: true });

    const admin = await s.pg.admin('custos_store');
    await admin.query('update queries set row_count = 0 where id = $1', [row.id]);
    expect(await s.op('queries.verify', { session: row.sessionId })).toMatchObject({ ok: false, expected: { statements: 2 }, actual: { statements: 2 } });
    await admin.query('update queries set row_count = 1 where id = $1', [row.id]);
    expect(await s.op('queries.verify', { session: row.sessionId })).toMatchObject({ ok: true });
    await admin.query('delete from queries where id = $1', [row.id]);
    expect(await s.op('queries.verify', { session: row.sessionId })).toMatchObject({ ok: false, actual: { statements: 1 } });
    await admin.end();
  });

  it('ends live sessions with 57P01 when the gateway shuts down, and closes their records', async () => {
    const files = await prepareGatewayFiles({
      storeUrl: s.storeUrl!,
      settings: { nodeName: 'stopping', listen: { postgres: '127.0.0.1:0' }, postgres: { allowPlaintext: true } },
    });
    const child = await spawnGateway(files);
    try {
      const port = Number(child.addresses.postgres!.split(':')[1]);
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'alice', password: token, database: 'orders' });
      // The FATAL error first, then node-postgres reports the closed connection as well.
      const ended = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
      await client.connect();
      await client.query('select 1');
      expect(await child.stop()).toBe(0);
      const error = await ended;
      expect(error.code).toBe('57P01');
      expect(error.message).toBe('terminating connection: the gateway is shutting down');
      const [session] = (await s.tg.gateway.store.sessions.list({ identity: 'alice', limit: 1000 })).filter((r) => r.node === 'stopping');
      expect(session).toMatchObject({ state: 'closed', endReason: 'the gateway shut down' });
    } finally {
      await child.kill().catch(() => undefined);
      files.remove();
    }
  });

  it('recovers sessions a killed gateway left open: interrupted, cancel keys removed', async () => {
    const files = await prepareGatewayFiles({
      storeUrl: s.storeUrl!,
      settings: { nodeName: 'crashy', listen: { postgres: '127.0.0.1:0' }, postgres: { allowPlaintext: true } },
    });
    const child = await spawnGateway(files);
    try {
      const port = Number(child.addresses.postgres!.split(':')[1]);
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'alice', password: token, database: 'orders' });
      client.on('error', () => undefined);
      await client.connect();
      await client.query('select 1');
      const [live] = await s.tg.gateway.store.sessions.list({ identity: 'alice', state: 'live', limit: 1000 }).then((rows) => rows.filter((r) => r.node === 'crashy'));
      expect(live).toBeDefined();
      await child.kill();
      const restarted = await startTestGateway({
        storeUrl: s.storeUrl!,
        dataDir: files.dataDir,
        settings: { nodeName: 'crashy', listen: { postgres: '127.0.0.1:0' }, postgres: { allowPlaintext: true } },
      });
      await restarted.stop();
      const recovered = await s.tg.gateway.store.sessions.get(live!.id);
      expect(recovered).toMatchObject({ state: 'interrupted', endReason: 'the gateway stopped while the session was live' });
      const admin = await s.pg.admin('custos_store');
      const { rows } = await admin.query("select count(*)::int as n from cancel_keys where node = 'crashy'");
      await admin.end();
      expect(rows[0].n).toBe(0);
    } finally {
      await child.kill().catch(() => undefined);
      files.remove();
    }
  });

  it('fails closed when the query log cannot be written, and recovers with nothing lost', async () => {
    const victim = s.client({ user: 'alice', password: token });
    await victim.connect();
    const ended = new Promise<Error & { code?: string }>((resolve) => victim.on('error', resolve));
    const admin = await s.pg.admin('custos_store');
    await admin.query("alter table queries add constraint custos_test_reject check (statement <> 'select ''doomed''') not valid");
    try {
      // The statement runs (it was captured first); when its row cannot be written, the session is ended.
      await victim.query("select 'doomed'");
      const failure = await ended;
      expect(failure.code).toBe('58000');
      expect(failure.message).toContain('the gateway cannot record statements right now');
      const refused = s.client({ user: 'alice', password: token });
      const error = (await refused.connect().catch((err: Error) => err)) as Error & { code?: string };
      expect(error.message).toContain('the gateway cannot record statements right now');
    } finally {
      await admin.query('alter table queries drop constraint custos_test_reject');
      await admin.end();
    }
    await waitFor(async () => {
      const rows = (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).filter((r) => r.statement === "select 'doomed'");
      return rows.length === 1;
    }, { timeoutMs: 15_000, what: 'the held statement to be written after recovery' });
    const fresh = s.client({ user: 'alice', password: token });
    await fresh.connect();
    expect((await fresh.query('select 5 as n')).rows).toEqual([{ n: 5 }]);
    await fresh.end();
  });
});

