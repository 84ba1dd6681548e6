/**
 * `npm run bench:pg-profile` — where the CPU of one PostgreSQL path goes, per transaction.
 * Not a test; a tool for profiling the capture path (bench:pg gives the ratios).
 *
 * It starts PostgreSQL (a `bench` database and a `custos_store` database), a gateway as a
 * child process (`custos start`, so node flags such as --cpu-prof or --perf-basic-prof apply
 * to it alone) and, for comparison, a bare Node pipe; runs `pgbench -S` through each and
 * prints TPS and the CPU each process spent per transaction, read from /proc: the gateway's
 * main thread and its other threads, the store's backends (PostgreSQL store), the pipe, and
 * the database backends serving pgbench.
 *
 * Options: --store pglite|postgres (default postgres)  --mode simple|prepared (default prepared)
 *          --tls  --seconds 15  --clients 8  --rounds 1  --paths custos,pipe
 *          --node-args "<flags for the gateway's node>" (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
 *          --trace-gc: the gateway's GC trace is summarised (collections and pause time per kind)
 *          --perf <dir>: `perf record -g` of the gateway (and the pipe) during each measurement,
 *            to <dir>/<path>.data (add "--node-args=--perf-basic-prof" for JavaScript names)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSelfSignedTls } from '../src/core/generated-keys.js';
import { requireBinary } from '../test/helpers/binaries.js';
import { prepareGatewayFiles, spawnGateway, type ChildGateway } from '../test/helpers/gateway.js';
import { startPostgres, type EphemeralPostgres } from '../test/helpers/postgres.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { benchResources, startNodePipe } from './pg-baselines.js';

const { values: options } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    mode: { type: 'string', default: 'prepared' },
    tls: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '1' },
    paths: { type: 'string', default: 'custos,pipe' },
    'node-args': { type: 'string', default: '' },
    'trace-gc': { type: 'boolean', default: false },
    perf: { type: 'string' },
  },
});
const TICK_US = 1_000_000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const log = (text: string) => process.stderr.write(`${text}\n`);

/** CPU time (µs) of one thread or process from its stat file: utime + stime. */
function cpuOf(statPath: string, part: 'all' | 'sys' = 'all'): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((part === 'sys' ? 0 : Number(fields[11])) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** A process's CPU split into its main thread and the rest. */
function threadsOf(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const cpu = cpuOf(`/proc/${pid}/task/${tid}/stat`);
    if (Number(tid) === pid) main += cpu;
    else others += cpu;
  }
  return { main, others };
}

async function backendPids(pg: EphemeralPostgres, database: string): Promise<number[]> {
  const admin = await pg.admin();
  try {
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    return rows.map((row) => row.pid);
  } finally {
    await admin.end();
  }
}

interface Measured {
  tps: number;
  processed: number;
  cpu: Record<string, number>;
}

async function main(): Promise<void> {
  const pgbench = requireBinary('pgbench', 'apt-get install -y postgresql-client');
  process.env.CUSTOS_TEST_STORE_TEMPLATE ??= await ensureStoreTemplate();
  const pg = await startPostgres({ users: [{ name: 'bench', auth: 'trust', superuser: true }], databases: ['bench', 'custos_store'] });
  const temp = makeTempDir('cbprof-');
  let gateway: ChildGateway | null = null;
  let pipe: Awaited<ReturnType<typeof startNodePipe>> | null = null;
  try {
    const init = spawnSync(pgbench, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'bench', 'bench'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const tls = { cert: join(temp.path, 'server.crt'), key: join(temp.path, 'server.key'), ca: join(temp.path, 'ca.crt') };
    await ensureSelfSignedTls(tls, ['127.0.0.1']);

    const files = await prepareGatewayFiles({
      ...(options.store === 'postgres' ? { storeUrl: pg.url('bench', 'custos_store') } : {}),
      settings: { listen: { postgres: '127.0.0.1:0', web: 'off' }, postgres: { allowPlaintext: true }, log: { level: 'warn' } },
    });
    const nodeArgs = options['node-args']!.split(' ').filter(Boolean);
    if (options['trace-gc']) nodeArgs.push('--trace-gc');
    gateway = await spawnGateway(files, {}, nodeArgs);
    const gatewayPort = Number(gateway.addresses.postgres!.split(':').at(-1));
    const applied = await files.cli(['apply', '-f', '-'], {
      input: benchResources(pg.port),
    });
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
    const token = await files.cli(['token', 'create', 'bencher', '--ttl', '2h']);
    if (token.code !== 0) throw new Error(`token create failed: ${token.stderr}`);
    pipe = await startNodePipe(pg.port, options.tls ? tls : null);

    const run = async (name: string, port: number, user: string, password: string, pids: () => Promise<Record<string, () => number>>, pid: number): Promise<Measured> => {
      const args = ['-n', '-S', '-M', options.mode!, '-c', options.clients!, '-j', '2', '-T', options.seconds!, '-h', '127.0.0.1', '-p', String(port), '-U', user, 'bench'];
      const env = { ...process.env, PGPASSWORD: password, PGSSLMODE: options.tls ? 'require' : 'disable' };
      const child = spawn(pgbench, args, { env });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      // Sample once the clients are connected, so login and teardown are left out.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const counters = await pids();
      const before = Object.fromEntries(Object.entries(counters).map(([k, read]) => [k, read()]));
      const t0 = performance.now();
      const seconds = Number(options.seconds) - 2;
      const perf = options.perf
        ? spawn('perf', ['record', '-g', '-p', String(pid), '-o', join(options.perf, `${name.replace(/\W+/g, '-')}.data`), '--', 'sleep', String(seconds)], { stdio: 'ignore' })
        : null;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      if (perf) await new Promise((resolve) => perf.once('close', resolve));
      const after = Object.fromEntries(Object.entries(counters).map(([k, read]) => [k, read()]));
      const elapsed = (performance.now() - t0) / 1000;
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      const processed = Number(/actually processed: (\d+)/.exec(out)?.[1]);
      if (code !== 0 || !tps) throw new Error(`pgbench failed: ${out}`);
      const transactions = tps * elapsed;
      const cpu = Object.fromEntries(Object.keys(counters).map((k) => [k, (after[k]! - before[k]!) / transactions]));
      log(`${name}: ${tps.toFixed(0)} tps; CPU µs per transaction: ${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
      return { tps, processed, cpu };
    };

    const gatewayPid = gateway.child.pid!;
    const backends = async (database: string) => {
      const list = await backendPids(pg, database);
      return () => list.reduce((sum, pid) => sum + cpuOf(`/proc/${pid}/stat`), 0);
    };
    const paths = options.paths!.split(',');
    const results: Record<string, Measured[]> = {};
    for (let round = 0; round < Number(options.rounds); round++) {
      for (const path of paths) {
        let measured: Measured;
        if (path === 'custos') {
          measured = await run('custos', gatewayPort, 'bencher', token.stdout.trim(), async () => ({
            'gateway main': () => threadsOf(gatewayPid).main,
            'of it kernel': () => cpuOf(`/proc/${gatewayPid}/task/${gatewayPid}/stat`, 'sys'),
            'gateway threads': () => threadsOf(gatewayPid).others,
            'store backends': await backends('custos_store'),
            'db backends': await backends('bench'),
          }), gatewayPid);
        } else {
          measured = await run('node pipe', pipe.port, 'bench', '', async () => ({
            pipe: () => cpuOf(`/proc/${pipe!.pid}/stat`),
            'of it kernel': () => cpuOf(`/proc/${pipe!.pid}/stat`, 'sys'),
            'db backends': await backends('bench'),
          }), pipe.pid);
        }
        (results[path] ??= []).push(measured);
      }
    }
    const stopped = gateway;
    gateway = null;
    await stopped.stop();
    if (options['trace-gc']) log(summariseGcTrace(stopped.logs()));
  } finally {
    await gateway?.kill();
    await pipe?.stop();
    await pg.stop();
    temp.remove();
  }
}

/** Counts and total pause of each kind of collection in a --trace-gc log. */
function summariseGcTrace(text: string): string {
  const kinds = new Map<string, { count: number; ms: number }>();
  for (const match of text.matchAll(/: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^,]*, ([\d.]+) \/ ([\d.]+) ms/g)) {
    const entry = kinds.get(match[1]!) ?? { count: 0, ms: 0 };
    entry.count += 1;
    entry.ms += Number(match[2]);
    kinds.set(match[1]!, entry);
  }
  return `gc: ${[...kinds].map(([kind, { count, ms }]) => `${kind} ×${count} (${ms.toFixed(0)} ms)`).join(', ') || 'no collections traced'}`;
}

await main();
