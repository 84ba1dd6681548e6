import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { buildGatewayKubeconfig } from '../../src/proxy/kubernetes/kubeconfig-writer.js';
import { asIdentity, requestIdOf, tokenFor } from './approvals.js';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver/index.js';
import { runKubectl } from './kubectl.js';
import { runClient } from './pg-gateway.js';
import { freePort } from './ports.js';
import { startPostgres, type EphemeralPostgres } from './postgres.js';
import { openSshShell } from './ssh-shell.js';
import { runProcess, SFTP, startSshFixture, type SshFixture } from './ssh-fixture.js';
import { waitFor } from './wait.js';

/** A command typed in the scenario's shell: recorded content, attacker-controlled. */
export const MARKUP = '<img src=y onerror=document.title=1>x';

/** What the scripted scenario did, with the ids a story must lead to. */
export interface StoryScenario {
  f: SshFixture;
  pg: EphemeralPostgres;
  api: KubeApiServer;
  /** The gateway's store: a PostgreSQL database on the same server. */
  storeDatabase: string;
  /** Just before the scenario's first action. */
  since: string;
  requestId: string;
  botTokenId: string;
  sessions: { shell: string; exec: string; sftp: string; psql: string; kubeApi: string; kubeExec: string; bot: string };
  remoteDir: string;
  stop(): Promise<void>;
}

/**
 * A gateway with SSH, PostgreSQL and Kubernetes front ends before a real sshd, a real
 * PostgreSQL (which also holds the gateway's store) and the test API server, and this
 * story, through the real clients: alice (human, owner of the bot `deployer`) is given a
 * role, is denied a login, opens an interactive shell (typing two commands), runs an exec
 * and an sftp batch, runs psql statements (a prepared one with a parameter), lists pods
 * and execs in one with kubectl; she
 * asks for database access for her bot, `vera` approves it, the bot gets a token under the
 * request and runs a parameterized statement with node-postgres; alice revokes the request
 * (ending the bot's live session) and loses the role again.
 */
export async function runStoryScenario(settings: Record<string, unknown> = {}): Promise<StoryScenario> {
  const pgServer = await startPostgres({ users: [{ name: 'app', password: 'app-secret', auth: 'scram-sha-256' }], databases: ['orders', 'custos_store'] });
  const storeUrl = pgServer.url(pgServer.superuser, 'custos_store');
  const admin = await pgServer.admin('orders');
  await admin.query('grant all on schema public to app');
  await admin.query(`create table items (id int primary key, name text)`);
  await admin.query(`insert into items select g, 'item ' || g from generate_series(1, 20) g`);
  await admin.query('grant all on items to app');
  await admin.end();

  const kubePort = await freePort();
  const f = await startSshFixture({
    settings: {
      store: { url: storeUrl },
      listen: { ssh: '127.0.0.1:0', postgres: '127.0.0.1:0', kubernetes: `127.0.0.1:${kubePort}` },
      postgres: { allowPlaintext: true },
      kubernetes: { apiSessionIdle: '2s' },
      ...settings,
    },
  });
  const api = await startKubeApiServer({ execCwd: f.dir });
  api.create('v1', 'pods', { metadata: { name: 'box', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh'] }] } });
  const upstreamKubeconfig = api.writeKubeconfig({ token: api.adminToken }, join(f.dir, 'upstream.kubeconfig'));
  const secret = join(f.dir, 'app.secret');
  writeFileSync(secret, 'app-secret', { mode: 0o600 });
  await f.apply(`
kind: target
name: orders
spec:
  protocol: postgres
  address: 127.0.0.1:${pgServer.port}
  labels: { env: db }
  credentials: { password: "file:${secret}" }
---
kind: target
name: k8s
spec:
  protocol: kubernetes
  address: 127.0.0.1:${api.port}
  kubeconfig: file:${upstreamKubeconfig}
  labels: { env: cluster }
---
kind: role
name: ops
spec:
  targets: { env: test }
  logins: [${f.login}]
  portForwarding: true
  recordInput: true
  maxSessionTTL: 1h
---
kind: role
name: kube-ops
spec: { targets: { env: cluster }, kubeGroups: [system:masters] }
---
kind: role
name: db-users
spec: { targets: { env: db }, dbUsers: [app] }
---
kind: role
name: db-gated
spec: { targets: { env: db }, dbUsers: [app], requireApproval: { approvers: [approvers], ticket: required } }
---
kind: role
name: approvers
spec: {}
---
kind: identity
name: vera
spec: { kind: human, roles: [approvers] }
---
kind: identity
name: deployer
spec: { kind: bot, owner: alice, roles: [db-gated] }
`);
  const withAlice = (roles: string) => `
kind: identity
name: alice
spec:
  kind: human
  roles: [${roles}]
  sshKeys: ["${f.keys.alice.publicLine}"]
`;
  await f.apply(withAlice('ops, kube-ops'));
  const aliceToken = await tokenFor(f.gateway, 'alice');
  const veraToken = await tokenFor(f.gateway, 'vera');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const since = new Date().toISOString();
  const store = f.gateway.gateway.store;
  const newestSession = async (identity: string, seen: Set<string>) =>
    waitFor(async () => (await store.sessions.list({ identity })).find((s) => !seen.has(s.id) && s.state !== 'live'), { what: `a new closed session of ${identity}` });
  const seen = new Set<string>();
  const next = async (identity: string) => {
    const session = await newestSession(identity, seen);
    seen.add(session.id);
    return session.id;
  };

  // A role granted.
  await f.apply(withAlice('ops, kube-ops, db-users'));
  // A denied attempt: a login no role allows.
  const denied = await f.run(f.keys.alice, 'operator@web1', ['true']);
  if (denied.code === 0) throw new Error('the denied attempt was allowed');
  // An interactive shell with typed commands (one of them markup, which must stay text).
  const shell = await openSshShell(f, { key: f.keys.alice, user: 'web1' });
  await shell.run('echo story-$((6*7))', 'story-42');
  await shell.run(`echo '${MARKUP}' | tr -d x`, /<img src=y onerror=document.title=1>\r?\n/);
  await shell.exit();
  const shellId = await next('alice');
  // An exec.
  const exec = await f.run(f.keys.alice, 'web1', ['echo', 'exec-output']);
  if (exec.code !== 0) throw new Error(`exec failed: ${exec.stderr}`);
  const execId = await next('alice');
  // An sftp batch.
  const remoteDir = join(f.dir, 'remote');
  mkdirSync(remoteDir, { mode: 0o777 });
  const local = join(f.dir, 'upload.txt');
  writeFileSync(local, 'evidence\n');
  const sftp = await runProcess(SFTP, ['-b', '-', '-P', String(f.port), ...f.sshOptions(f.keys.alice, ['-o', 'BatchMode=yes']), 'web1@127.0.0.1'], {
    input: `put ${local} ${remoteDir}/uploaded.txt\n`,
  });
  if (sftp.code !== 0) throw new Error(`sftp failed: ${sftp.stderr}`);
  const sftpId = await next('alice');
  // psql: a prepared statement with a parameter, executed.
  const psql = await runClient(
    'psql',
    ['-X', '-v', 'ON_ERROR_STOP=1', `host=127.0.0.1 port=${f.gateway.address('postgres').port} user=alice dbname=orders sslmode=disable`],
    { PGPASSWORD: aliceToken },
    'PREPARE item(int) AS SELECT name FROM items WHERE id = $1;\nEXECUTE item(7);\n',
  );
  if (psql.code !== 0 || !psql.stdout.includes('item 7')) throw new Error(`psql failed: ${psql.stderr}`);
  const psqlId = await next('alice');
  // kubectl: a list, then an exec (a session of its own); the API session ends when idle.
  const kubeconfig = join(f.dir, 'alice.kubeconfig');
  writeFileSync(
    kubeconfig,
    buildGatewayKubeconfig({ gatewayUrl: `https://127.0.0.1:${kubePort}`, caPem: readFileSync(f.gateway.config.tls.ca, 'utf8'), identity: 'alice', token: aliceToken, targets: ['k8s'], namespace: 'default' }),
    { mode: 0o600 },
  );
  const kubeHome = join(f.dir, 'kube-home');
  const pods = await runKubectl(['get', 'pods'], { kubeconfig, home: kubeHome });
  if (pods.code !== 0 || !pods.stdout.includes('box')) throw new Error(`kubectl get pods failed: ${pods.stderr}`);
  const kubeExec = await runKubectl(['exec', 'box', '--', 'echo', 'kube-output'], { kubeconfig, home: kubeHome });
  if (kubeExec.code !== 0 || kubeExec.stdout !== 'kube-output\n') throw new Error(`kubectl exec failed: ${kubeExec.stderr}`);
  const kubeExecId = await next('alice');
  const kubeApiId = await next('alice');

  // Access for the bot, asked by its owner, approved by someone else.
  const alice = asIdentity(f.gateway, aliceToken);
  const vera = asIdentity(f.gateway, veraToken);
  const created = await alice.cli(['request', 'create', '--for', 'deployer', '--target', 'orders', '--db-user', 'app', '--reason', 'release 4.2 migration', '--ticket', 'CHG-42', '--duration', '1h']);
  const requestId = requestIdOf(created);
  const approved = await vera.cli(['request', 'approve', requestId, '--reason', 'on the change calendar']);
  if (approved.code !== 0) throw new Error(`approval failed: ${approved.stderr}`);
  const minted = (await f.gateway.cli(['token', 'create', 'deployer', '--request', requestId])).stdout.trim();
  const botTokenId = ((await store.tokens.list({ identityName: 'deployer' }))[0]!).id;
  const bot = new pg.Client({ host: '127.0.0.1', port: f.gateway.address('postgres').port, user: 'deployer', password: minted, database: 'orders' });
  await bot.connect();
  bot.on('error', () => undefined);
  const rows = await bot.query('SELECT name FROM items WHERE id = $1', [3]);
  if (rows.rows[0]?.name !== 'item 3') throw new Error('the bot query failed');
  // Revoked while the bot is connected: its session ends.
  const revoked = await alice.cli(['request', 'revoke', requestId, '--reason', 'migration done']);
  if (revoked.code !== 0) throw new Error(`revoke failed: ${revoked.stderr}`);
  const botId = await next('deployer');
  await bot.end().catch(() => undefined);
  // The role taken away again.
  await f.apply(withAlice('ops, kube-ops'));

  return {
    f,
    pg: pgServer,
    api,
    storeDatabase: 'custos_store',
    since,
    requestId,
    botTokenId,
    sessions: { shell: shellId, exec: execId, sftp: sftpId, psql: psqlId, kubeApi: kubeApiId, kubeExec: kubeExecId, bot: botId },
    remoteDir,
    stop: async () => {
      await f.stop();
      await api.close();
      await pgServer.stop();
    },
  };
}
