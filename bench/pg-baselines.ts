import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait.js';

/** The baselines bench:pg measures Custos against, each in its own process. */
/** The target, role and bot identity every Custos path of the PostgreSQL benchmarks connects with. */
export function benchResources(pgPort: number): string {
  return `kind: target
name: bench
spec: { protocol: postgres, address: "127.0.0.1:${pgPort}" }
---
kind: role
name: bench
spec: { targets: { name: bench }, dbUsers: [bench] }
---
kind: identity
name: bencher
spec: { kind: bot, owner: admin, roles: [bench] }
---
kind: identity
name: admin
spec: { kind: human }
`;
}

export interface Server {
  port: number;
  /** The baseline's process id (for CPU accounting). */
  pid: number;
  stop(): Promise<void>;
}

/** pgbouncer in session mode; with `tls`, clients must use TLS (client_tls_sslmode = require). */
export async function startPgbouncer(binary: string, pgPort: number, tls: { cert: string; key: string } | null): Promise<Server> {
  const dir = makeTempDir('cbnc-');
  const port = await freePort();
  const ini = join(dir.path, 'pgbouncer.ini');
  writeFileSync(join(dir.path, 'users.txt'), '"bench" ""\n');
  const tlsLines = tls
    ? ['client_tls_sslmode = require', `client_tls_cert_file = ${join(dir.path, 'server.crt')}`, `client_tls_key_file = ${join(dir.path, 'server.key')}`]
    : [];
  if (tls) {
    writeFileSync(join(dir.path, 'server.crt'), readFileSync(tls.cert));
    writeFileSync(join(dir.path, 'server.key'), readFileSync(tls.key), { mode: 0o600 });
  }
  writeFileSync(
    ini,
    `[databases]
bench = host=127.0.0.1 port=${pgPort} dbname=bench

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir.path, 'users.txt')}
pool_mode = session
max_client_conn = 200
default_pool_size = 50
logfile = ${join(dir.path, 'pgbouncer.log')}
pidfile = ${join(dir.path, 'pgbouncer.pid')}
${tlsLines.join('\n')}
`,
  );
  chmodSync(dir.path, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['-R', 'postgres:', dir.path]);
  // pgbouncer refuses to run as root.
  const child = asRoot ? spawn('runuser', ['-u', 'postgres', '--', binary, ini], { stdio: 'ignore' }) : spawn(binary, [ini], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}); see ${join(dir.path, 'pgbouncer.log')}`);
        const probe = spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], { encoding: 'utf8' });
        resolve(probe.status === 0 || probe.status === 1);
      }),
    { timeoutMs: 15_000, what: 'pgbouncer to listen' },
  );
  // Under runuser the child is runuser itself; pgbouncer writes its own pid.
  const pid = await waitFor(() => Number(readFileSync(join(dir.path, 'pgbouncer.pid'), 'utf8').trim()) || undefined, { timeoutMs: 15_000, what: "pgbouncer's pid file" });
  return {
    port,
    pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      dir.remove();
    },
  };
}

/**
 * A bare pipe in a separate Node process: what any Node proxy costs before it does any work.
 * With `tls` it first answers the client's SSLRequest with 'S' and terminates TLS, as a
 * PostgreSQL proxy must, then pipes the plain bytes to PostgreSQL.
 */
export async function startNodePipe(pgPort: number, tls: { cert: string; key: string } | null): Promise<Server> {
  const port = await freePort();
  const script = `const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const context = ${tls ? `tls.createSecureContext({ cert: fs.readFileSync(${JSON.stringify(tls.cert)}), key: fs.readFileSync(${JSON.stringify(tls.key)}) })` : 'null'};
function pipe(client, socket) {
  const upstream = net.connect(${pgPort}, '127.0.0.1');
  socket.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}
net.createServer((socket) => {
  if (!context) return pipe(socket, socket);
  // SSLRequest: length 8, code 80877103. The client sends nothing more until it reads 'S'.
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < 8) return;
    socket.off('data', onData);
    if (head.length !== 8 || head.readInt32BE(4) !== 80877103) return socket.destroy();
    socket.write('S');
    pipe(new tls.TLSSocket(socket, { isServer: true, secureContext: context }), socket);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the node pipe exited (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
  };
}

