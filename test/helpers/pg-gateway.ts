import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runOperation } from '../../src/admin/operations.js';
import { requireBinary } from './binaries.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { startPostgres, type EphemeralPostgres } from './postgres.js';

export const INSTALL_PG_CLIENTS = 'apt-get install -y postgresql-client (psql, pgbench)';

export interface PgScenario {
  pg: EphemeralPostgres;
  /** The PostgreSQL store URL when the scenario uses one. */
  storeUrl: string | undefined;
  tg: TestGateway;
  /** The gateway's PostgreSQL port. */
  port: number;
  /** The gateway CA certificate (sslrootcert for verify-full). */
  caFile: string;
  /** A fresh token for an identity. */
  token(identity: string, ttl?: string): Promise<string>;
  apply(yaml: string): Promise<void>;
  /** node-postgres client through the gateway. */
  client(options: { user: string; password: string; database?: string; ssl?: boolean | object; [key: string]: unknown }): pg.Client;
  op(name: string, args: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL with SCRAM, md5 and trust users, and an in-process gateway with the
 * PostgreSQL front end, targets for each, and identities:
 * - alice (human) with role `orders-rw`: db users app (default) and app_ro on targets labelled env=test;
 * - robot (bot, owner alice) with the same role;
 * - mallory (human) with no roles;
 * - brief (human) with role `short`: app_ro on `orders`, maxSessionTTL 2s.
 * Targets: `orders` (SCRAM upstream, database orders), `legacy` (md5), `open` (trust).
 */
export async function startPgScenario(
  options: { settings?: Record<string, unknown>; maxSessionTTL?: string; /** Use a PostgreSQL store (a database on the same server) instead of PGlite. */ postgresStore?: boolean } = {},
): Promise<PgScenario> {
  const pgServer = await startPostgres({
    users: [
      { name: 'app', password: 'app-secret', auth: 'scram-sha-256' },
      { name: 'app_ro', password: 'ro-secret', auth: 'scram-sha-256' },
      { name: 'legacy_user', password: 'md5-secret', auth: 'md5' },
      { name: 'trusting', auth: 'trust' },
    ],
    databases: options.postgresStore ? ['orders', 'custos_store'] : ['orders'],
  });
  const storeUrl = options.postgresStore ? pgServer.url(pgServer.superuser, 'custos_store') : undefined;
  const admin = await pgServer.admin('orders');
  await admin.query(`grant all on schema public to app, app_ro, legacy_user, trusting`);
  await admin.query(`create table items (id int primary key, name text, price numeric)`);
  await admin.query(`insert into items select g, 'item ' || g, g * 1.5 from generate_series(1, 100) g`);
  await admin.query(`grant all on items to app, legacy_user, trusting`);
  await admin.query(`grant select on items to app_ro`);
  await admin.end();

  const tg = await startTestGateway({
    ...(storeUrl ? { storeUrl } : {}),
    settings: {
      ...options.settings,
      listen: { postgres: '127.0.0.1:0', ...(options.settings?.listen as object | undefined) },
      postgres: { allowPlaintext: true, ...(options.settings?.postgres as object | undefined) },
    },
  });
  const secrets = (name: string, value: string) => {
    const path = join(tg.dataDir, `${name}.secret`);
    writeFileSync(path, value, { mode: 0o600 });
    return `file:${path}`;
  };
  const ttl = options.maxSessionTTL ?? '8h';
  const op = (name: string, args: Record<string, unknown>) => runOperation({ store: tg.gateway.store, actor: 'test', config: tg.config }, name, args);
  const apply = async (yaml: string) => {
    await op('apply', { files: [{ source: 'test.yaml', text: yaml }] });
  };
  await apply(`
kind: target
name: orders
spec:
  protocol: postgres
  address: 127.0.0.1:${pgServer.port}
  labels: { env: test }
  credentials:
    users:
      app: { password: ${secrets('app', 'app-secret')} }
      app_ro: { password: ${secrets('app_ro', 'ro-secret')} }
---
kind: target
name: legacy
spec:
  protocol: postgres
  address: 127.0.0.1:${pgServer.port}
  database: orders
  labels: { env: legacy }
  credentials:
    password: ${secrets('legacy', 'md5-secret')}
---
kind: target
name: open
spec:
  protocol: postgres
  address: 127.0.0.1:${pgServer.port}
  database: orders
  labels: { env: open }
---
kind: role
name: orders-rw
spec:
  targets: { env: test }
  dbUsers: [app, app_ro]
  maxSessionTTL: ${ttl}
---
kind: role
name: legacy-users
spec:
  targets: { name: legacy }
  dbUsers: [legacy_user]
---
kind: role
name: open-users
spec:
  targets: { name: open }
  dbUsers: [trusting]
---
kind: role
name: short
spec:
  targets: { name: orders }
  dbUsers: [app_ro]
  maxSessionTTL: 2s
---
kind: identity
name: brief
spec:
  kind: human
  roles: [short]
---
kind: identity
name: alice
spec:
  kind: human
  roles: [orders-rw, legacy-users, open-users]
---
kind: identity
name: robot
spec:
  kind: bot
  owner: alice
  roles: [orders-rw]
---
kind: identity
name: mallory
spec:
  kind: human
`);
  const port = tg.address('postgres').port;
  return {
    pg: pgServer,
    storeUrl,
    tg,
    port,
    caFile: tg.config.tls.ca,
    token: async (identity, ttlText = '1h') => ((await op('token.create', { identity, ttl: ttlText })) as { token: string }).token,
    apply,
    op,
    client: ({ user, password, database, ssl, ...rest }) =>
      new pg.Client({ host: '127.0.0.1', port, user, password, database: database ?? 'orders', ssl: ssl ?? false, ...rest }),
    stop: async () => {
      await tg.stop();
      await pgServer.stop();
    },
  };
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client binary (psql, pgbench) to completion. */
export function runClient(binary: 'psql' | 'pgbench', args: string[], env: NodeJS.ProcessEnv = {}, input?: string, timeoutMs = 60_000): Promise<ProcessResult> {
  const path = requireBinary(binary, INSTALL_PG_CLIENTS);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '10', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binary} ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
