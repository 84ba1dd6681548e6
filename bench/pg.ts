/**
 * `npm run bench:pg` — PostgreSQL throughput and latency through Custos, against baselines
 * measured in the same run on the same PostgreSQL.
 *
 * Throughput, `pgbench -S -c 8 -j 2 -T 15` in simple and prepared modes:
 *   direct                   → PostgreSQL itself
 *   pgbouncer                → Debian's pgbouncer, session mode (captures nothing)
 *   node pipe                → a bare Node socket pipe in its own process (no parsing, no
 *                              capture): the ceiling for any proxy written in Node here
 *   custos (pglite)          → the gateway with capture on, embedded store
 *   custos (postgres)        → the gateway with capture on, PostgreSQL store (a database on
 *                              the same server)
 * and over TLS from the client, as clients really connect (the database side stays plain):
 *   pgbouncer (tls)          → pgbouncer with client_tls_sslmode = require
 *   node tls pipe            → a bare Node pipe in its own process that answers SSLRequest,
 *                              terminates TLS and pipes plain bytes to PostgreSQL: the floor
 *                              for any Node TLS proxy
 *   custos (pglite, tls) / custos (postgres, tls)
 *
 * Latency, `pgbench -S -c 1 -T 10` (one client, one statement per transaction): average, p50
 * and p99 per statement from pgbench's per-transaction log, direct and through pgbouncer,
 * the node pipes and Custos, and what each adds over direct.
 *
 * It prints TPS and ratios, and checks that the statements Custos captured equal the
 * transactions pgbench processed, for every Custos run. Not a test: numbers depend on the
 * machine. BENCH_SECONDS (default 15), BENCH_CLIENTS (default 8) and BENCH_LATENCY_SECONDS
 * (default 10) override the runs; BENCH_ROUNDS (default 1) repeats every throughput
 * measurement, in reverse order every other round, and reports means — on a shared, noisy
 * machine the baseline drifts between runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ensureSelfSignedTls } from '../src/core/generated-keys.js';
import { requireBinary } from '../test/helpers/binaries.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait.js';
import { runOperation } from '../src/admin/operations.js';
import { benchResources, startNodePipe, startPgbouncer, type Server } from './pg-baselines.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const MODES = ['simple', 'prepared'] as const;
const SELECT_PREFIX = 'SELECT abalance FROM pgbench_accounts WHERE aid = ';
const AIM_ADDED_P50_US = 100;
const AIM_VS_PIPE = 0.9;
const AIM_VS_BOUNCER_TLS = 0.8;

interface Run {
  tps: number;
  processed: number;
  /** Per-transaction latencies in µs (latency runs only). */
  latencies?: number[];
}

interface Target {
  port: number;
  user: string;
  password?: string;
  tls: boolean;
}

interface Path {
  name: string;
  target: Target;
  /** The gateway behind this path, whose capture is checked after each run. */
  gateway?: { instance: TestGateway; store: string };
}

async function main(): Promise<void> {
  const pgbench = requireBinary('pgbench', 'apt-get install -y postgresql-client');
  const pgbouncerBin = requireBinary('pgbouncer', 'apt-get install -y pgbouncer');
  process.env.CUSTOS_TEST_STORE_TEMPLATE ??= await ensureStoreTemplate();
  const load = loadavg().map((value) => value.toFixed(2)).join(', ');

  log(`starting PostgreSQL (pgbench -S -c ${CLIENTS} -j 2 -T ${SECONDS}; load average ${load})`);
  const pg = await startPostgres({ users: [{ name: 'bench', auth: 'trust', superuser: true }], databases: ['bench', 'custos_store'] });
  const cleanups: Array<() => Promise<void> | void> = [() => pg.stop()];
  try {
    const init = spawnSync(pgbench, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'bench', 'bench'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

    const certs = makeTempDir('cbtls-');
    cleanups.push(() => certs.remove());
    const tls = { cert: join(certs.path, 'server.crt'), key: join(certs.path, 'server.key'), ca: join(certs.path, 'ca.crt') };
    await ensureSelfSignedTls(tls, ['127.0.0.1']);

    const servers: Record<string, Server> = {
      pgbouncer: await startPgbouncer(pgbouncerBin, pg.port, null),
      'pgbouncer (tls)': await startPgbouncer(pgbouncerBin, pg.port, tls),
      'node pipe': await startNodePipe(pg.port, null),
      'node tls pipe': await startNodePipe(pg.port, tls),
    };
    for (const server of Object.values(servers)) cleanups.push(server.stop);

    const gateways: Record<string, TestGateway> = {};
    for (const store of ['pglite', 'postgres'] as const) {
      const gateway = await startTestGateway({
        ...(store === 'postgres' ? { storeUrl: pg.url('bench', 'custos_store') } : {}),
        // Plaintext allowed for the plain rows; TLS clients get TLS as they would by default.
        settings: { listen: { postgres: '127.0.0.1:0', web: 'off' }, postgres: { allowPlaintext: true }, log: { level: 'warn' } },
      });
      cleanups.push(() => gateway.stop());
      await runOperation({ store: gateway.gateway.store, actor: 'bench', config: gateway.config }, 'apply', {
        files: [
          {
            source: 'bench.yaml',
            text: benchResources(pg.port),
          },
        ],
      });
      gateways[store] = gateway;
    }
    const tokens: Record<string, string> = {};
    for (const [store, gateway] of Object.entries(gateways)) {
      tokens[store] = ((await runOperation({ store: gateway.gateway.store, actor: 'bench', config: gateway.config }, 'token.create', { identity: 'bencher', ttl: '2h' })) as { token: string }).token;
    }

    const plain = (port: number): Target => ({ port, user: 'bench', tls: false });
    const custos = (store: string, tlsOn: boolean): Path => ({
      name: `custos (${store}${tlsOn ? ', tls' : ''})`,
      target: { port: gateways[store]!.address('postgres').port, user: 'bencher', password: tokens[store]!, tls: tlsOn },
      gateway: { instance: gateways[store]!, store },
    });
    const paths: Path[] = [
      { name: 'direct', target: plain(pg.port) },
      { name: 'pgbouncer', target: plain(servers.pgbouncer!.port) },
      { name: 'node pipe', target: plain(servers['node pipe']!.port) },
      custos('pglite', false),
      custos('postgres', false),
      { name: 'pgbouncer (tls)', target: { ...plain(servers['pgbouncer (tls)']!.port), tls: true } },
      { name: 'node tls pipe', target: { ...plain(servers['node tls pipe']!.port), tls: true } },
      custos('pglite', true),
      custos('postgres', true),
    ];

    const checks: string[] = [];
    const measure = async (path: Path, mode: string, shape: Shape): Promise<Run> => {
      const since = new Date();
      const run = await runPgbench(pgbench, mode, path.target, shape);
      if (path.gateway) checks.push(await checkCapture(path.gateway.instance, `${mode} ${shape.clients === 1 ? 'latency' : ''}`.trim(), path.name, since, run));
      return run;
    };

    const results: Record<string, Record<string, Run>> = {};
    const throughput: Shape = { clients: CLIENTS, threads: 2, seconds: SECONDS };
    for (const mode of MODES) {
      results[mode] = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
          const run = await measure(path, mode, throughput);
          const total = (results[mode][path.name] ??= { tps: 0, processed: 0 });
          total.tps += run.tps / ROUNDS;
          total.processed += run.processed;
        }
      }
    }

    log(`latency: pgbench -S -c 1 -T ${LATENCY_SECONDS}, simple mode`);
    const latency: Record<string, Run> = {};
    for (const path of paths) latency[path.name] = await measure(path, 'simple', { clients: 1, threads: 1, seconds: LATENCY_SECONDS, log: makeTempDir('cblat-') });

    print(results, latency, checks, load);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((err) => log(`cleanup: ${(err as Error).message}`));
  }
}

interface Shape {
  clients: number;
  threads: number;
  seconds: number;
  /** Write pgbench's per-transaction log here, read the latencies, then remove it. */
  log?: { path: string; remove(): void };
}

async function runPgbench(pgbench: string, mode: string, target: Target, shape: Shape): Promise<Run> {
  const args = [
    '-n', '-S', '-M', mode, '-c', String(shape.clients), '-j', String(shape.threads), '-T', String(shape.seconds),
    ...(shape.log ? ['--log', `--log-prefix=${join(shape.log.path, 'tx')}`] : []),
    '-h', '127.0.0.1', '-p', String(target.port), '-U', target.user, 'bench',
  ];
  const env = { ...process.env, PGPASSWORD: target.password ?? '', PGSSLMODE: target.tls ? 'require' : 'disable' };
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(pgbench, args, { env });
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
  log(`  ${mode.padEnd(8)} -c ${shape.clients} port ${target.port}${target.tls ? ' tls' : ''}: ${Number(tps).toFixed(0)} tps`);
  const run: Run = { tps: Number(tps), processed: Number(processed) };
  if (shape.log) {
    run.latencies = readTransactionLog(shape.log.path);
    shape.log.remove();
  }
  return run;
}

/** Latencies (µs) from pgbench --log files: `client_id transaction_no time script_no epoch µs`, time in µs. */
function readTransactionLog(dir: string): number[] {
  const latencies: number[] = [];
  for (const file of readdirSync(dir).filter((name) => name.startsWith('tx'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const time = Number(line.split(' ')[2]);
      if (line && Number.isFinite(time)) latencies.push(time);
    }
  }
  return latencies.sort((a, b) => a - b);
}

/** Every transaction pgbench processed must be a captured SELECT (status ok), none extra. */
async function checkCapture(gateway: TestGateway, mode: string, name: string, since: Date, run: Run): Promise<string> {
  const { store: db } = gateway.gateway;
  await waitFor(async () => (await db.sessions.list({ identity: 'bencher', state: 'live', limit: 1 })).length === 0, {
    timeoutMs: 120_000,
    what: 'the benchmark sessions to end and their statements to be written',
  });
  const counts = await db.queries.count({ identity: 'bencher', since, statementPrefix: SELECT_PREFIX });
  const captured = Object.values(counts).reduce((a, b) => a + b, 0);
  const ok = captured === run.processed && counts.ok === run.processed;
  return `${ok ? 'OK  ' : 'FAIL'} ${mode.padEnd(16)} ${name.padEnd(22)} captured ${captured} statements (${JSON.stringify(counts)}), pgbench processed ${run.processed}`;
}

function print(results: Record<string, Record<string, Run>>, latency: Record<string, Run>, checks: string[], load: string): void {
  const lines: string[] = [
    '',
    `pgbench -S -c ${CLIENTS} -j 2 -T ${SECONDS}${ROUNDS > 1 ? `, mean of ${ROUNDS} rounds` : ''} (TPS, and ratio to direct in the same run; load average at start ${load})`,
    '',
  ];
  const names = Object.keys(results[MODES[0]]!);
  lines.push(['path'.padEnd(24), ...MODES.map((mode) => mode.padStart(20))].join(''));
  for (const name of names) {
    const cells = MODES.map((mode) => {
      const run = results[mode]![name]!;
      const ratio = run.tps / results[mode]!.direct!.tps;
      return `${run.tps.toFixed(0).padStart(9)} ${`(${ratio.toFixed(2)}x)`.padStart(9)}`.padStart(20);
    });
    lines.push([name.padEnd(24), ...cells].join(''));
  }
  lines.push('');
  for (const mode of MODES) {
    const tps = (name: string) => results[mode]![name]!.tps;
    for (const name of names.filter((n) => n.startsWith('custos'))) {
      const overTls = name.endsWith(', tls)');
      const [bouncer, pipe] = overTls ? ['pgbouncer (tls)', 'node tls pipe'] : ['pgbouncer', 'node pipe'];
      lines.push(`${mode.padEnd(9)}${name.padEnd(24)}vs ${bouncer}: ${(tps(name) / tps(bouncer)).toFixed(2)}x   vs ${pipe}: ${(tps(name) / tps(pipe)).toFixed(2)}x`);
    }
  }
  lines.push('');
  for (const mode of MODES) {
    const tps = (name: string) => results[mode]![name]!.tps;
    for (const name of names.filter((n) => n.startsWith('custos'))) {
      const [baseline, aim] = name.endsWith(', tls)') ? ['pgbouncer (tls)', AIM_VS_BOUNCER_TLS] : ['node pipe', AIM_VS_PIPE];
      const ratio = tps(name) / tps(baseline);
      lines.push(`aim: ${mode} ${name} ≥ ${aim}x ${baseline}: ${ratio >= aim ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
    }
  }

  const stats = (run: Run) => {
    const values = run.latencies!;
    const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
    return { avg: values.reduce((a, b) => a + b, 0) / values.length, p50: at(0.5), p99: at(0.99) };
  };
  const direct = stats(latency.direct!);
  lines.push(
    '',
    `pgbench -S -c 1 -T ${LATENCY_SECONDS} (simple): latency per statement, µs, from pgbench's per-transaction log`,
    '',
    `${'path'.padEnd(24)}${'avg'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}     added over direct: avg / p50 / p99`,
  );
  for (const [name, run] of Object.entries(latency)) {
    const s = stats(run);
    const added = name === 'direct' ? '' : `     ${[s.avg - direct.avg, s.p50 - direct.p50, s.p99 - direct.p99].map((v) => `${v >= 0 ? '+' : ''}${v.toFixed(0)}`).join(' / ')}`;
    lines.push(`${name.padEnd(24)}${s.avg.toFixed(0).padStart(8)}${s.p50.toFixed(0).padStart(8)}${s.p99.toFixed(0).padStart(8)}${added}`);
  }
  lines.push('');
  for (const name of Object.keys(latency).filter((n) => n.startsWith('custos') && !n.endsWith(', tls)'))) {
    const added = stats(latency[name]!).p50 - direct.p50;
    lines.push(`aim: ${name} adds ≤ ${AIM_ADDED_P50_US} µs p50 per statement over direct: ${added <= AIM_ADDED_P50_US ? 'met' : 'NOT met'} (+${added.toFixed(0)} µs)`);
  }
  lines.push('', 'capture check:', ...checks.map((check) => `  ${check}`), '');
  process.stdout.write(lines.join('\n'));
  if (checks.some((check) => check.startsWith('FAIL'))) process.exitCode = 1;
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

await main();
