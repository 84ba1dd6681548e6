import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSignedTls } from '../../src/core/generated-keys.js';
import { gssEncRequest, sslRequest, startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';
import { requireBinary } from '../helpers/binaries.js';
import { INSTALL_PG_CLIENTS, runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

describe('postgres access: authentication, authorization, TLS, lifetime', () => {
  let s: PgScenario;
  beforeAll(async () => {
    s = await startPgScenario({ settings: { postgres: { allowPlaintext: false } } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const conninfo = (user: string, extra = '') => `host=127.0.0.1 port=${s.port} user=${user} dbname=orders sslmode=require ${extra}`;
  const psql = (conn: string, sql: string, password: string) => runClient('psql', ['-X', '-A', '-t', '-c', sql, conn], { PGPASSWORD: password });
  const auditOf = async (type: string, identity: string) =>
    (await s.tg.gateway.store.audit.list({ type, identity, order: 'desc', limit: 20 })).map((event) => event.data as Record<string, unknown>);

  it('refuses a wrong token with 28P01, a readable message and an audit event', async () => {
    await s.token('alice');
    const result = await psql(conninfo('alice'), 'select 1', 'cus_not-the-token');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('password authentication failed for identity "alice"');
    await waitFor(async () => (await auditOf('auth.failure', 'alice')).some((d) => String(d.reason).includes('the proof matches no live token')));
  });

  it('refuses an expired token the same way', async () => {
    const expired = await s.token('alice', '1ms');
    const expiredId = (await s.tg.gateway.store.tokens.list({ identityName: 'alice', includeInactive: true }))[0]!.id;
    await waitFor(async () => !(await s.tg.gateway.store.tokens.list({ identityName: 'alice' })).some((token) => token.id === expiredId), { what: 'the token to expire' });
    const result = await psql(conninfo('alice'), 'select 1', expired);
    expect(result.stderr).toContain('password authentication failed for identity "alice"');
    // The client learns nothing more; the audit log says which token and why.
    await waitFor(async () => (await auditOf('auth.failure', 'alice')).some((d) => /SCRAM authentication failed: token tok_\w+ expired at/.test(String(d.reason))));
  });

  it('refuses an unknown identity without telling it apart from a wrong token', async () => {
    const result = await psql(conninfo('nobody'), 'select 1', 'cus_whatever');
    expect(result.stderr).toContain('password authentication failed for identity "nobody"');
    await waitFor(async () => (await auditOf('auth.failure', 'nobody')).some((d) => String(d.reason).includes('no identity named "nobody"')));
  });

  it('refuses a denied target with 28000 and the reason, and records the decision', async () => {
    const token = await s.token('mallory');
    const result = await psql(conninfo('mallory'), 'select 1', token);
    expect(result.stderr).toContain('access to target "orders" denied: no role of mallory grants access to target orders');
    const denials = await auditOf('access.deny', 'mallory');
    expect(denials[0]).toMatchObject({ protocol: 'postgres', reason: 'no role of mallory grants access to target orders' });
  });

  it('refuses a database user the roles do not allow, and an unknown target', async () => {
    const token = await s.token('alice');
    const user = await psql(conninfo('alice/postgres'), 'select 1', token);
    expect(user.stderr).toContain('database user "postgres" is not allowed on this target (allowed: app, app_ro)');
    const target = await runClient('psql', ['-X', '-c', 'select 1', `host=127.0.0.1 port=${s.port} user=alice dbname=nosuch sslmode=require`], { PGPASSWORD: token });
    expect(target.stderr).toContain('access to target "nosuch" denied: no target named "nosuch"');
  });

  it('lets the client pick the database user by user name or by options', async () => {
    const token = await s.token('alice');
    expect((await psql(conninfo('alice'), 'select current_user', token)).stdout.trim()).toBe('app');
    expect((await psql(conninfo('alice/app_ro'), 'select current_user', token)).stdout.trim()).toBe('app_ro');
    const viaOptions = await psql(conninfo('alice', "options='-c custos.db_user=app_ro -c DateStyle=German'"), 'select current_user, current_setting($$DateStyle$$)', token);
    expect(viaOptions.stdout.trim()).toBe('app_ro|German, DMY');
  });

  it('refuses plaintext when the config requires TLS', async () => {
    const token = await s.token('alice');
    const result = await runClient('psql', ['-X', '-c', 'select 1', `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=disable`], { PGPASSWORD: token });
    expect(result.stderr).toContain('the gateway accepts only encrypted connections');
  });

  it('works with sslmode=verify-full against the gateway CA, by name and by address, with channel binding', async () => {
    const token = await s.token('alice');
    for (const host of ['localhost', '127.0.0.1']) {
      const result = await psql(
        `host=${host} port=${s.port} user=alice dbname=orders sslmode=verify-full sslrootcert=${s.caFile} channel_binding=require`,
        'select 42',
        token,
      );
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe('42');
    }
    const client = s.client({ user: 'alice', password: token, host: 'localhost', ssl: { ca: readFileSync(s.caFile) }, enableChannelBinding: true });
    await client.connect();
    expect((await client.query('select 7 as n')).rows).toEqual([{ n: 7 }]);
    await client.end();
  });

  it('fails verify-full against another CA', async () => {
    const other = makeTempDir('cca-');
    await ensureSelfSignedTls({ cert: join(other.path, 's.crt'), key: join(other.path, 's.key'), ca: join(other.path, 'ca.crt') }, []);
    const result = await psql(`host=localhost port=${s.port} user=alice dbname=orders sslmode=verify-full sslrootcert=${join(other.path, 'ca.crt')}`, 'select 1', 'x');
    expect(result.stderr).toMatch(/certificate verify failed/);
    other.remove();
  });

  it('answers GSSENCRequest with N and then accepts SSLRequest', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    const answers: string[] = [];
    socket.on('data', (chunk: Buffer) => answers.push(chunk.toString('latin1')));
    socket.write(gssEncRequest());
    await waitFor(() => answers.join('') === 'N');
    socket.write(sslRequest());
    await waitFor(() => answers.join('') === 'NS');
    socket.destroy();
  });

  it('accepts PostgreSQL 17 direct TLS with ALPN "postgresql", and closes it without', async () => {
    const direct = tls.connect({ host: '127.0.0.1', port: s.port, ca: readFileSync(s.caFile), servername: 'localhost', ALPNProtocols: ['postgresql'] });
    await new Promise<void>((resolve, reject) => {
      direct.once('secureConnect', resolve);
      direct.once('error', reject);
    });
    const received: Buffer[] = [];
    direct.on('data', (chunk: Buffer) => received.push(chunk));
    direct.write(startupMessage([['user', 'alice'], ['database', 'orders']]));
    await waitFor(() => Buffer.concat(received).length >= 9);
    const first = Buffer.concat(received);
    expect(String.fromCharCode(first[0]!)).toBe('R');
    expect(first.readInt32BE(5)).toBe(10); // AuthenticationSASL
    expect(first.toString('latin1')).toContain('SCRAM-SHA-256-PLUS');
    direct.destroy();

    const noAlpn = tls.connect({ host: '127.0.0.1', port: s.port, ca: readFileSync(s.caFile), servername: 'localhost' });
    const outcome = await new Promise<string>((resolve) => {
      noAlpn.once('secureConnect', () => noAlpn.once('close', () => resolve('closed after handshake')));
      noAlpn.once('error', () => resolve('closed'));
      noAlpn.once('close', () => resolve('closed'));
    });
    expect(outcome).toMatch(/closed/);
  });

  it('logs in upstream with md5 and trust, as well as SCRAM', async () => {
    const token = await s.token('alice');
    const md5 = await runClient('psql', ['-X', '-A', '-t', '-c', 'select current_user', `host=127.0.0.1 port=${s.port} user=alice dbname=legacy sslmode=require`], { PGPASSWORD: token });
    expect(md5.stdout.trim()).toBe('legacy_user');
    const trust = await runClient('psql', ['-X', '-A', '-t', '-c', 'select current_user', `host=127.0.0.1 port=${s.port} user=alice dbname=open sslmode=require`], { PGPASSWORD: token });
    expect(trust.stdout.trim()).toBe('trusting');
  });

  it('uses TLS with verify-full to an upstream that has it, and refuses an upstream certificate it cannot verify', async () => {
    const dir = makeTempDir('cpgtls-');
    const files = { cert: join(dir.path, 'server.crt'), key: join(dir.path, 'server.key'), ca: join(dir.path, 'ca.crt') };
    await ensureSelfSignedTls(files, []);
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'postgres:', dir.path]);
    const admin = await s.pg.admin();
    await admin.query(`alter system set ssl_cert_file = '${files.cert}'`);
    await admin.query(`alter system set ssl_key_file = '${files.key}'`);
    await admin.query(`alter system set ssl = on`);
    await admin.query('select pg_reload_conf()');
    await admin.end();
    await s.apply(`
kind: target
name: secure
spec:
  protocol: postgres
  address: 127.0.0.1:${s.pg.port}
  database: orders
  labels: { env: test }
  tls: { mode: verify-full, ca: file:${files.ca}, serverName: localhost }
  credentials:
    users:
      app: { password: file:${join(s.tg.dataDir, 'app.secret')} }
---
kind: target
name: misverified
spec:
  protocol: postgres
  address: 127.0.0.1:${s.pg.port}
  database: orders
  labels: { env: test }
  tls: { mode: verify-full, ca: file:${s.caFile}, serverName: localhost }
  credentials:
    users:
      app: { password: file:${join(s.tg.dataDir, 'app.secret')} }
`);
    const token = await s.token('alice');
    const secure = await waitFor(async () => {
      const result = await runClient('psql', ['-X', '-A', '-t', '-c', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', `host=127.0.0.1 port=${s.port} user=alice dbname=secure sslmode=require`], { PGPASSWORD: token });
      return result.stdout.trim() === 't' ? result : undefined;
    });
    expect(secure.stderr).toBe('');
    const refused = await runClient('psql', ['-X', '-c', 'select 1', `host=127.0.0.1 port=${s.port} user=alice dbname=misverified sslmode=require`], { PGPASSWORD: token });
    expect(refused.stderr).toMatch(/could not log in to target "misverified" as database user "app": TLS with 127\.0\.0\.1:\d+ failed/);
    dir.remove();
  });

  it('cancels pg_sleep(30) when psql is interrupted: the plaintext CancelRequest of a TLS session is routed', async () => {
    const token = await s.token('alice');
    const child = spawn(requireBinary('psql', INSTALL_PG_CLIENTS), ['-X', '-c', 'select pg_sleep(30)', conninfo('alice')], {
      env: { ...process.env, PGPASSWORD: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await waitFor(async () => {
      const admin = await s.pg.admin('orders');
      const { rows } = await admin.query("select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'");
      await admin.end();
      return rows.length === 1;
    });
    child.kill('SIGINT');
    // A generous bound that still proves the statement did not run its 30 seconds.
    const code = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    expect(code).not.toBe('still running');
    expect(stderr).toContain('canceling statement due to user request');
    const row = await waitFor(async () => (await s.tg.gateway.store.queries.list({ identity: 'alice', limit: 10_000 })).find((r) => r.statement === 'select pg_sleep(30)' && r.status !== 'unfinished'));
    expect(row).toMatchObject({ status: 'cancelled', sqlstate: '57014', errorMessage: 'canceling statement due to user request' });
  });

  it('ends a session at maxSessionTTL with 57P01 and records why', async () => {
    const token = await s.token('brief');
    const client = s.client({ user: 'brief', password: token, ssl: { rejectUnauthorized: false } });
    client.on('error', () => undefined);
    await client.connect();
    const error = (await client.query('select pg_sleep(30)').catch((err: Error) => err)) as Error & { code?: string };
    expect(error.code).toBe('57P01');
    expect(error.message).toMatch(/^terminating connection: the session reached its maximum lifetime \(maxSessionTTL of role short, [^)]+\) and is closed$/);
    const session = await waitFor(async () => {
      const [row] = await s.tg.gateway.store.sessions.list({ identity: 'brief', limit: 1 });
      return row?.state === 'closed' ? row : undefined;
    });
    expect(session.endReason).toBe('the session reached its maximum lifetime (maxSessionTTL of role short)');
    const [statement] = await s.tg.gateway.store.queries.list({ sessionId: session.id });
    expect(statement).toMatchObject({ statement: 'select pg_sleep(30)', status: 'unfinished' });
  });
});
