/**
 * `npm run bench:kube`: small Kubernetes GET requests per second and p50/p99 latency,
 * straight to the test API server and through a bare Node HTTPS reverse proxy (the
 * baseline Custos's Kubernetes front door will be held against: ≥ 0.8× its rate), measured
 * in the same run. The API server and the proxy run as processes of their own; this
 * process is the load (keep-alive connections, a fixed number of requests in flight).
 * Custos joins the table when its Kubernetes listener exists.
 *
 * Environment: BENCH_KUBE_SECONDS (per endpoint, default 5), BENCH_KUBE_CONCURRENCY (default 16).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTempDir } from '../test/helpers/temp-dir.js';

const REPO = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_KUBE_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_KUBE_CONCURRENCY ?? 16);
const MAX_REQUESTS = 2_000_000;
const PATH = '/api/v1/namespaces/default/configmaps/small';

interface Endpoint {
  name: string;
  url: string;
  caPem: string;
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

async function startProcess<T>(script: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return JSON.parse(line) as T;
}

async function measure(endpoint: Endpoint, token: string): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: endpoint.caPem });
  const url = new URL(PATH, endpoint.url);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(url, { agent, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  // Warm the connections up before timing.
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

try {
  const upstream = await startProcess<{ url: string; caPem: string; token: string }>('bench/kube-upstream.ts', []);
  const caFile = join(dir.path, 'upstream-ca.crt');
  writeFileSync(caFile, upstream.caPem);
  const bare = await startProcess<{ url: string; caPem: string }>('bench/kube-baseline/main.ts', [upstream.url, caFile]);
  const endpoints: Endpoint[] = [
    { name: 'direct', url: upstream.url, caPem: upstream.caPem },
    { name: 'bare proxy', url: bare.url, caPem: bare.caPem },
  ];
  const results: Result[] = [];
  for (const endpoint of endpoints) results.push(await measure(endpoint, upstream.token));
  const baseline = results.find((result) => result.name === 'bare proxy')!;
  console.log(`GET ${PATH}, ${CONCURRENCY} in flight, ${SECONDS}s per endpoint`);
  console.log('endpoint      req/s   p50 ms  p99 ms  errors  vs bare proxy');
  for (const result of results) {
    console.log(
      `${result.name.padEnd(12)} ${result.perSecond.toFixed(0).padStart(6)}  ${result.p50Ms.toFixed(2).padStart(6)}  ${result.p99Ms.toFixed(2).padStart(6)}  ${String(result.errors).padStart(6)}  ${(result.perSecond / baseline.perSecond).toFixed(2)}x`,
    );
  }
  console.log(JSON.stringify({ bench: 'kube', concurrency: CONCURRENCY, seconds: SECONDS, results }));
} finally {
  for (const child of children) child.kill('SIGTERM');
  dir.remove();
}
