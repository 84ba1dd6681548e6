/**
 * `npm run bench:kube`: in one run against the same test API server (a process of its own),
 * - small Kubernetes GET requests per second and p50/p99 latency: direct, through a bare
 *   Node HTTPS reverse proxy (the baseline: Custos aims at ≥ 0.8× its rate) and through
 *   Custos (identity token, decision, impersonation, request log), as ratios;
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
}

const children: ChildProcess[] = [];
const dir = makeTempDir('bkube-');
const log = (text: string) => process.stderr.write(`${text}\n`);

async function startProcess<T>(script: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return JSON.parse(line) as T;
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
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { name: endpoint.name, requests: latencies.length, errors, perSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) };
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

async function startCustos(upstream: { url: string; caPem: string; token: string }): Promise<{ gateway: ChildGateway; files: TestGatewayFiles; endpoint: Endpoint }> {
  const port = await freePort();
  const files = await prepareGatewayFiles({ settings: { listen: { kubernetes: `127.0.0.1:${port}`, web: 'off' }, log: { level: 'warn' } } });
  const gateway = await spawnGateway(files);
  const kubeconfig = join(dir.path, 'upstream.kubeconfig');
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
  const resources = join(dir.path, 'resources.yaml');
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
  return { gateway, files, endpoint: { name: 'custos', url: `https://127.0.0.1:${port}/k8s/bench`, caPem, token: token.stdout.trim() } };
}

let custos: { gateway: ChildGateway; files: TestGatewayFiles; endpoint: Endpoint } | null = null;
try {
  const upstream = await startProcess<{ url: string; caPem: string; token: string }>('bench/kube-upstream.ts', []);
  const caFile = join(dir.path, 'upstream-ca.crt');
  writeFileSync(caFile, upstream.caPem);
  const bare = await startProcess<{ url: string; caPem: string }>('bench/kube-baseline/main.ts', [upstream.url, caFile]);
  custos = await startCustos(upstream);
  const endpoints: Endpoint[] = [
    { name: 'direct', url: upstream.url, caPem: upstream.caPem, token: upstream.token },
    { name: 'bare proxy', url: bare.url, caPem: bare.caPem, token: upstream.token },
    custos.endpoint,
  ];

  const best = new Map<string, Result>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? endpoints : [...endpoints].reverse();
    for (const endpoint of order) {
      const result = await measure(endpoint);
      log(`  round ${round + 1} ${endpoint.name.padEnd(10)} ${result.perSecond.toFixed(0)} req/s`);
      if ((best.get(endpoint.name)?.perSecond ?? 0) < result.perSecond) best.set(endpoint.name, result);
    }
  }
  const results = endpoints.map((endpoint) => best.get(endpoint.name)!);
  const baseline = best.get('bare proxy')!;
  const lines = [`GET ${PATH}, ${CONCURRENCY} in flight, ${SECONDS}s per endpoint, best of ${ROUNDS}`, 'endpoint      req/s   p50 ms  p99 ms  errors  vs bare proxy'];
  for (const result of results) {
    lines.push(
      `${result.name.padEnd(12)} ${result.perSecond.toFixed(0).padStart(6)}  ${result.p50Ms.toFixed(2).padStart(6)}  ${result.p99Ms.toFixed(2).padStart(6)}  ${String(result.errors).padStart(6)}  ${(result.perSecond / baseline.perSecond).toFixed(2)}x`,
    );
  }

  const exec: Array<{ name: string; mbPerSecond: number }> = [];
  if (EXEC_BYTES > 0) {
    lines.push('', `exec of ${EXEC_BYTES / 1024 / 1024} MB of output (client-node, WebSocket v5)`);
    for (const [name, endpoint, tty] of [
      ['direct, no tty', endpoints[0]!, false],
      ['bare proxy, no tty', endpoints[1]!, false],
      ['custos, no tty (recorded)', custos.endpoint, false],
      ['direct, tty', endpoints[0]!, true],
      ['bare proxy, tty', endpoints[1]!, true],
      ['custos, tty (recorded)', custos.endpoint, true],
    ] as const) {
      const rate = await execRate(endpoint, tty);
      exec.push({ name, mbPerSecond: rate });
      lines.push(`  ${name.padEnd(27)} ${rate.toFixed(1).padStart(7)} MB/s`);
    }
  }
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ bench: 'kube', concurrency: CONCURRENCY, seconds: SECONDS, rounds: ROUNDS, results, exec }));
} finally {
  await custos?.gateway.stop();
  custos?.files.remove();
  for (const child of children) child.kill('SIGTERM');
  dir.remove();
}
