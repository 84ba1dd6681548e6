/**
 * `npm run bench:pg` — PostgreSQL throughput through Custos, against baselines measured in
 * the same run on the same PostgreSQL:
 *
 *   pgbench -S -c 8 -j 2 -T 15   in simple and prepared modes
 *   direct            → PostgreSQL itself
 *   pgbouncer         → Debian's pgbouncer, session mode (captures nothing)
 *   node pipe         → a bare Node socket pipe in its own process (no parsing, no capture):
 *                       the ceiling for any proxy written in Node on this machine
 *   custos (pglite)   → the gateway with capture on, embedded store
 *   custos (postgres) → the gateway with capture on, PostgreSQL store (a database on the same server)
 *
 * It prints TPS and ratios, and checks that the statements Custos captured equal the
 * transactions pgbench processed. Not a test: numbers depend on the machine.
 * BENCH_SECONDS (default 15) and BENCH_CLIENTS (default 8) override the run; BENCH_ROUNDS
 * (default 1) repeats every measurement, in reverse order every other round, and reports
 * means — on a shared, noisy machine the baseline drifts between runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../test/helpers/binaries.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { freePort } from '../test/helpers/ports.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait.js';
import { runOperation } from '../src/admin/operations.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const MODES = ['simple', 'prepared'] as const;
const SELECT_PREFIX = 'SELECT abalance FROM pgbench_accounts WHERE aid = ';

interface Run {
  tps: number;
  processed: number;
}

async function main(): Promise<void> {
  const pgbench = requireBinary('pgbench', 'apt-get install -y postgresql-client');
  const pgbouncerBin = requireBinary('pgbouncer', 'apt-get install -y pgbouncer');
  process.env.CUSTOS_TEST_STORE_TEMPLATE ??= await ensureStoreTemplate();

  log(`starting PostgreSQL (pgbench -S -c ${CLIENTS} -j 2 -T ${SECONDS})`);
  const pg = await startPostgres({ users: [{ name: 'bench', auth: 'trust', superuser: true }], databases: ['bench', 'custos_store'] });
  const cleanups: Array<() => Promise<void> | void> = [() => pg.stop()];
  try {
    const init = spawnSync(pgbench, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'bench', 'bench'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

    const bouncer = await startPgbouncer(pgbouncerBin, pg.port);
    cleanups.push(bouncer.stop);
    const pipe = await startNodePipe(pg.port);
    cleanups.push(pipe.stop);

    const gateways: Record<string, TestGateway> = {};
    for (const store of ['pglite', 'postgres'] as const) {
      const gateway = await startTestGateway({
        ...(store === 'postgres' ? { storeUrl: pg.url('bench', 'custos_store') } : {}),
        settings: { listen: { postgres: '127.0.0.1:0', web: 'off' }, postgres: { allowPlaintext: true }, log: { level: 'warn' } },
      });
      cleanups.push(() => gateway.stop());
      await runOperation({ store: gateway.gateway.store, actor: 'bench', config: gateway.config }, 'apply', {
        files: [
          {
            source: 'bench.yaml',
            text: `kind: target
name: bench
spec: { protocol: postgres, address: "127.0.0.1:${pg.port}" }
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
`,
          },
        ],
      });
      gateways[store] = gateway;
    }
    const tokens: Record<string, string> = {};
    for (const [store, gateway] of Object.entries(gateways)) {
      tokens[store] = ((await runOperation({ store: gateway.gateway.store, actor: 'bench', config: gateway.config }, 'token.create', { identity: 'bencher', ttl: '2h' })) as { token: string }).token;
    }

    const results: Record<string, Record<string, Run>> = {};
    const checks: string[] = [];
    for (const mode of MODES) {
      results[mode] = {};
      const paths: Array<{ name: string; run: () => Promise<Run> }> = [
        { name: 'direct', run: () => runPgbench(pgbench, mode, { port: pg.port, user: 'bench' }) },
        { name: 'pgbouncer', run: () => runPgbench(pgbench, mode, { port: bouncer.port, user: 'bench' }) },
        { name: 'node pipe', run: () => runPgbench(pgbench, mode, { port: pipe.port, user: 'bench' }) },
        ...Object.entries(gateways).map(([store, gateway]) => ({
          name: `custos (${store})`,
          run: async () => {
            const since = new Date();
            const run = await runPgbench(pgbench, mode, { port: gateway.address('postgres').port, user: 'bencher', password: tokens[store]! });
            checks.push(await checkCapture(gateway, mode, store, since, run));
            return run;
          },
        })),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
          const run = await path.run();
          const total = (results[mode][path.name] ??= { tps: 0, processed: 0 });
          total.tps += run.tps / ROUNDS;
          total.processed += run.processed;
        }
      }
    }

    print(results, checks);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((err) => log(`cleanup: ${(err as Error).message}`));
  }
}

async function runPgbench(pgbench: string, mode: string, target: { port: number; user: string; password?: string }): Promise<Run> {
  const args = ['-n', '-S', '-M', mode, '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-h', '127.0.0.1', '-p', String(target.port), '-U', target.user, 'bench'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(pgbench, args, { env: { ...process.env, PGPASSWORD: target.password ?? '', PGSSLMODE: 'disable' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
  });
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
  if (code !== 0 || !tps || !processed) throw new Error(`pgbench failed (${code}): ${stderr || stdout}`);
  log(`  ${mode.padEnd(8)} port ${target.port}: ${Number(tps).toFixed(0)} tps`);
  return { tps: Number(tps), processed: Number(processed) };
}

/** Every transaction pgbench processed must be a captured SELECT (status ok), none extra. */
async function checkCapture(gateway: TestGateway, mode: string, store: string, since: Date, run: Run): Promise<string> {
  const { store: db } = gateway.gateway;
  await waitFor(async () => (await db.sessions.list({ identity: 'bencher', state: 'live', limit: 1 })).length === 0, {
    timeoutMs: 120_000,
    what: 'the benchmark sessions to end and their statements to be written',
  });
  const counts = await db.queries.count({ identity: 'bencher', since, statementPrefix: SELECT_PREFIX });
  const captured = Object.values(counts).reduce((a, b) => a + b, 0);
  const ok = captured === run.processed && counts.ok === run.processed;
  return `${ok ? 'OK  ' : 'FAIL'} ${mode.padEnd(8)} custos (${store}): captured ${captured} statements (${JSON.stringify(counts)}), pgbench processed ${run.processed}`;
}

async function startPgbouncer(binary: string, pgPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = makeTempDir('cbnc-');
  const port = await freePort();
  const ini = join(dir.path, 'pgbouncer.ini');
  writeFileSync(join(dir.path, 'users.txt'), '"bench" ""\n');
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
        const probe = spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], { encoding: 'utf8' });
        resolve(probe.status === 0 || probe.status === 1);
      }),
    { timeoutMs: 15_000, what: 'pgbouncer to listen' },
  );
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      dir.remove();
    },
  };
}

/** A bare TCP pipe in a separate Node process: what any Node proxy costs before it does any work. */
async function startNodePipe(pgPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const script = `const net = require('node:net');
net.createServer((client) => {
  const upstream = net.connect(${pgPort}, '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the node pipe exited (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
  };
}

function print(results: Record<string, Record<string, Run>>, checks: string[]): void {
  const lines: string[] = ['', `pgbench -S -c ${CLIENTS} -j 2 -T ${SECONDS}${ROUNDS > 1 ? `, mean of ${ROUNDS} rounds` : ''} (TPS, and ratio to direct in the same run)`, ''];
  const names = Object.keys(results[MODES[0]]!);
  lines.push(['path'.padEnd(20), ...MODES.map((mode) => mode.padStart(20))].join(''));
  for (const name of names) {
    const cells = MODES.map((mode) => {
      const run = results[mode]![name]!;
      const ratio = run.tps / results[mode]!.direct!.tps;
      return `${run.tps.toFixed(0).padStart(9)} ${`(${ratio.toFixed(2)}x)`.padStart(9)}`.padStart(20);
    });
    lines.push([name.padEnd(20), ...cells].join(''));
  }
  lines.push('');
  for (const mode of MODES) {
    for (const name of names.filter((n) => n.startsWith('custos'))) {
      const vsBouncer = results[mode]![name]!.tps / results[mode]!.pgbouncer!.tps;
      const vsPipe = results[mode]![name]!.tps / results[mode]!['node pipe']!.tps;
      lines.push(`${mode.padEnd(8)} ${name.padEnd(18)} vs pgbouncer: ${vsBouncer.toFixed(2)}x   vs node pipe: ${vsPipe.toFixed(2)}x`);
    }
  }
  lines.push('', 'capture check:', ...checks.map((check) => `  ${check}`), '');
  process.stdout.write(lines.join('\n'));
  if (checks.some((check) => check.startsWith('FAIL'))) process.exitCode = 1;
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

await main();
