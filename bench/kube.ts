/**
 * `npm run bench:kube`: in one run against the same test API server (a process of its own),
 * - small Kubernetes GET requests per second and p50/p99 latency: direct, through a bare
 *   Node HTTPS reverse proxy (the baseline: Custos aims at ≥ 0.8× its rate) and through
 *   Custos (identity token, decision, impersonation, request log) on the embedded store and
 *   on a PostgreSQL store, as ratios, and the CPU each proxy process spends per request;
 * - exec of 100 MB of output (client-node over WebSocket v5): direct, bare proxy, and
 *   through Custos with a tty (recorded as asciicast) and without one (recorded stream).
 * This process is the load (keep-alive connections, a fixed number of requests in flight).
 *
 * Environment: BENCH_KUBE_SECONDS (per endpoint, default 5), BENCH_KUBE_CONCURRENCY
 * (default 16), BENCH_KUBE_ROUNDS (default 1: rounds alternate the endpoints, best kept),
 * BENCH_KUBE_EXEC_MB (default 100; 0 skips the exec part).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { prepareGatewayFiles, spawnGateway, type ChildGateway, type TestGatewayFiles } from '../test/helpers/gateway.js';
import { freePort } from '../test/helpers/ports.js';
import { startPostgres, type EphemeralPostgres } from '../test/helpers/postgres.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';

const REPO = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_KUBE_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_KUBE_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_KUBE_ROUNDS ?? 1);
const EXEC_BYTES = Number(process.env.BENCH_KUBE_EXEC_MB ?? 100) * 1024 * 1024;
const MAX_REQUESTS = 2_000_000;
const PATH = '/api/v1/namespaces/default/configmaps/small';
const LINE = 'custos kube benchmark: the quick brown fox jumps over the lazy dog 0123456789';

interface Endpoint {
  name: string;
  /** The process serving this endpoint, whose CPU time per request is reported (not for direct: the API server itself). */
  pid?: number;
  /** The server URL as a kubeconfig would name it (Custos: with /k8s/<target>). */
  url: string;
  caPem: string;
  token: string;
}

interface Result {
  name: string;
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (all threads) the endpoint's process spent per request, in µs. */
  cpuUsPerRequest: number | null;
}

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const children: ChildProcess[] = [];
const dir = makeTempDir('bkube-');
const log = (text: string) => process.stderr.write(`${text}\n`);

async function startProcess<T>(script: string, args: string[]): Promise<T & { pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return { ...(JSON.parse(line) as T), pid: child.pid! };
}

async function measure(endpoint: Endpoint): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: endpoint.caPem });
  const url = new URL(`${endpoint.url}${PATH}`);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(url, { agent, headers: { Authorization: `Bearer ${endpoint.token}`, Accept: 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  // Warm the connections (and Custos's API session) up before timing.
  await Promise.all(Array.from({ length: CONCURRENCY }, once));
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = cpuSeconds(endpoint.pid);
  const deadline = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline && latencies.length + errors < MAX_REQUESTS) {
        try {
          latencies.push(await once());
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(endpoint.pid);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const cpuUsPerRequest = cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1e6) / Math.max(1, latencies.length + errors);
  return { name: endpoint.name, requests: latencies.length, errors, perSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), cpuUsPerRequest };
}

/** `yes | head -c N` in the bench pod over WebSocket v5 (client-node); MB/s of stdout received. */
async function execRate(endpoint: Endpoint, tty: boolean): Promise<number> {
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: endpoint.url, caData: Buffer.from(endpoint.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token: endpoint.token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  let received = 0;
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done();
    },
  });
  const started = performance.now();
  const status = await new Promise<k8s.V1Status>((resolve, reject) => {
    new k8s.Exec(config).exec('default', 'bench', 'main', ['sh', '-c', `yes '${LINE}' | head -c ${EXEC_BYTES}`], stdout, tty ? null : process.stderr, null, tty, resolve).catch(reject);
  });
  const seconds = (performance.now() - started) / 1000;
  if (status.status !== 'Success') throw new Error(`exec through ${endpoint.name} failed: ${JSON.stringify(status)}`);
  if (received < EXEC_BYTES) throw new Error(`exec through ${endpoint.name} delivered ${received} of ${EXEC_BYTES} bytes`);
  return received / 1024 / 1024 / seconds;
}

interface Custos {
  gateway: ChildGateway;
  files: TestGatewayFiles;
  endpoint: Endpoint;
}

/** A Custos gateway process with a target for the test API server; on the embedded store unless `storeUrl` is given. */
async function startCustos(name: string, upstream: { url: string; caPem: string; token: string }, storeUrl?: string): Promise<Custos> {
  const port = await freePort();
  const files = await prepareGatewayFiles({ ...(storeUrl ? { storeUrl } : {}), settings: { listen: { kubernetes: `127.0.0.1:${port}`, web: 'off' }, log: { level: 'warn' } } });
  const gateway = await spawnGateway(files);
  const kubeconfig = join(dir.path, `upstream-${name.replace(/\W+/g, '-')}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: up, cluster: { server: "${upstream.url}", certificate-authority-data: ${Buffer.from(upstream.caPem).toString('base64')} } }]
users: [{ name: up, user: { token: "${upstream.token}" } }]
contexts: [{ name: up, context: { cluster: up, user: up } }]
current-context: up
`,
    { mode: 0o600 },
  );
  const resources = join(dir.path, `resources-${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(
    resources,
    `kind: target
name: bench
spec: { protocol: kubernetes, address: "${new URL(upstream.url).host}", kubeconfig: "file:${kubeconfig}", labels: { bench: "yes" } }
---
kind: role
name: bench
spec: { targets: { bench: "yes" }, kubeGroups: [system:masters] }
---
kind: identity
name: benchmarker
spec: { roles: [bench] }
`,
  );
  const applied = await files.cli(['apply', '-f', resources]);
  if (applied.code !== 0) throw new Error(applied.stderr);
  const token = await files.cli(['token', 'create', 'benchmarker', '--ttl', '2h']);
  if (token.code !== 0) throw new Error(token.stderr);
  const caPem = readFileSync(join(files.dataDir, 'tls/ca.crt'), 'utf8');
  return { gateway, files, endpoint: { name, pid: gateway.child.pid!, url: `https://127.0.0.1:${port}/k8s/bench`, caPem, token: token.stdout.trim() } };
}

const gateways: Custos[] = [];
let postgres: EphemeralPostgres | null = null;
try {
  const upstream = await startProcess<{ url: string; caPem: string; token: string }>('bench/kube-upstream.ts', []);
  const caFile = join(dir.path, 'upstream-ca.crt');
  writeFileSync(caFile, upstream.caPem);
  const bare = await startProcess<{ url: string; caPem: string }>('bench/kube-baseline/main.ts', [upstream.url, caFile]);
  const custos = await startCustos('custos', upstream);
  gateways.push(custos);
  postgres = await startPostgres({ databases: ['custos_bench'] });
  const custosPg = await startCustos('custos (pg)', upstream, postgres.url(undefined, 'custos_bench'));
  gateways.push(custosPg);
  const endpoints: Endpoint[] = [
    { name: 'direct', url: upstream.url, caPem: upstream.caPem, token: upstream.token },
    { name: 'bare proxy', pid: bare.pid, url: bare.url, caPem: bare.caPem, token: upstream.token },
    custos.endpoint,
    custosPg.endpoint,
  ];

  const best = new Map<string, Result>();
  const roundRatios = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? endpoints : [...endpoints].reverse();
    const rates = new Map<string, number>();
    for (const endpoint of order) {
      const result = await measure(endpoint);
      log(`  round ${round + 1} ${endpoint.name.padEnd(10)} ${result.perSecond.toFixed(0)} req/s${result.cpuUsPerRequest === null ? '' : `, ${result.cpuUsPerRequest.toFixed(0)} µs CPU per request`}`);
      rates.set(endpoint.name, result.perSecond);
      if (result.cpuUsPerRequest !== null) cpu.set(endpoint.name, [...(cpu.get(endpoint.name) ?? []), result.cpuUsPerRequest]);
      if ((best.get(endpoint.name)?.perSecond ?? 0) < result.perSecond) best.set(endpoint.name, result);
    }
    for (const name of ['custos', 'custos (pg)']) roundRatios.set(name, [...(roundRatios.get(name) ?? []), rates.get(name)! / rates.get('bare proxy')!]);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const results = endpoints.map((endpoint) => best.get(endpoint.name)!);
  const baseline = best.get('bare proxy')!;
  const lines = [`GET ${PATH}, ${CONCURRENCY} in flight, ${SECONDS}s per endpoint, best of ${ROUNDS}`, 'endpoint      req/s   p50 ms  p99 ms  errors  vs bare proxy'];
  for (const result of results) {
    lines.push(
      `${result.name.padEnd(12)} ${result.perSecond.toFixed(0).padStart(6)}  ${result.p50Ms.toFixed(2).padStart(6)}  ${result.p99Ms.toFixed(2).padStart(6)}  ${String(result.errors).padStart(6)}  ${(result.perSecond / baseline.perSecond).toFixed(2)}x`,
    );
  }

  lines.push('', 'vs bare proxy, median of the rounds (each round measures every endpoint back to back):');
  for (const [name, ratios] of roundRatios) lines.push(`  ${name.padEnd(12)} ${median(ratios).toFixed(2)}x  [${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}]`);
  lines.push('CPU per request (median of the rounds; every thread of the process, PostgreSQL server not included):');
  for (const [name, values] of cpu) lines.push(`  ${name.padEnd(12)} ${median(values).toFixed(0).padStart(5)} µs`);

  const exec: Array<{ name: string; mbPerSecond: number }> = [];
  if (EXEC_BYTES > 0) {
    lines.push('', `exec of ${EXEC_BYTES / 1024 / 1024} MB of output (client-node, WebSocket v5)`);
    for (const [name, endpoint, tty] of [
      ['direct, no tty', endpoints[0]!, false],
      ['bare proxy, no tty', endpoints[1]!, false],
      ['custos, no tty (recorded)', custos.endpoint, false],
      ['custos (pg), no tty', custosPg.endpoint, false],
      ['direct, tty', endpoints[0]!, true],
      ['bare proxy, tty', endpoints[1]!, true],
      ['custos, tty (recorded)', custos.endpoint, true],
      ['custos (pg), tty', custosPg.endpoint, true],
    ] as const) {
      const rate = await execRate(endpoint, tty);
      exec.push({ name, mbPerSecond: rate });
      lines.push(`  ${name.padEnd(27)} ${rate.toFixed(1).padStart(7)} MB/s`);
    }
  }
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ bench: 'kube', concurrency: CONCURRENCY, seconds: SECONDS, rounds: ROUNDS, results, roundRatios: Object.fromEntries(roundRatios), cpuUsPerRequest: Object.fromEntries(cpu), exec }));
} finally {
  for (const custos of gateways) {
    await custos.gateway.stop();
    custos.files.remove();
  }
  await postgres?.stop();
  for (const child of children) child.kill('SIGTERM');
  dir.remove();
}
