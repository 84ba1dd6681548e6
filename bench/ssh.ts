/**
 * SSH benchmark (`npm run bench:ssh`; not part of the test suite). Against one OpenSSH sshd
 * in one run, it measures:
 *   - bulk exec output of text, random bytes and zeros, and text through a recorded pty:
 *     OpenSSH direct, a bare ssh2 relay (no policy, no recording) and Custos (recording on),
 *     as MB/s, Custos's ratio to the bare relay, and the size of Custos's recording;
 *   - keystroke echo latency, direct and through Custos (p50/p99 and what Custos adds);
 *   - gateway RSS per idle connected session with N sessions open.
 * Options: --mb 200 (or BENCH_MB)  --runs 3  --keystrokes 300  --sessions 200  --cipher <name>
 *          --only bulk,echo,idle (default: all three)
 *          --cpu-prof <dir>: the gateway writes a V8 CPU profile per thread there when it stops
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { INSTALL_SSH_CLIENT, requireBinary } from '../test/helpers/binaries.js';
import { prepareGatewayFiles, spawnGateway, type ChildGateway, type TestGatewayFiles } from '../test/helpers/gateway.js';
import { startPostgres, type EphemeralPostgres } from '../test/helpers/postgres.js';
import { spawnInPty } from '../test/helpers/pty.js';
import { makeKeyPair } from '../test/helpers/ssh-keys.js';
import { startSshd } from '../test/helpers/sshd.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait.js';
import { idleSessions, settle, type Endpoint } from './idle-sessions.js';

const { values: options } = parseArgs({
  options: {
    mb: { type: 'string', default: process.env.BENCH_MB ?? '200' },
    runs: { type: 'string', default: '3' },
    keystrokes: { type: 'string', default: '300' },
    sessions: { type: 'string', default: '200' },
    cipher: { type: 'string' },
    only: { type: 'string', default: 'bulk,echo,idle' },
    'cpu-prof': { type: 'string' },
  },
});
const PARTS = new Set(options.only!.split(','));
const BYTES = Number(options.mb) * 1_000_000;
const RUNS = Number(options.runs);
const KEYSTROKES = Number(options.keystrokes);
const SESSIONS = Number(options.sessions);
const SSH = requireBinary('ssh', INSTALL_SSH_CLIENT);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const LINE = 'custos benchmark output: the quick brown fox jumps over the lazy dog 0123456789';

/** What the target prints: files written before the runs, so producing them costs nothing but a read. */
const PAYLOADS = ['text', 'random bytes', 'zeros'] as const;
type Payload = (typeof PAYLOADS)[number];

function writePayload(path: string, payload: Payload): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024);
  if (payload === 'text') {
    const line = Buffer.from(`${LINE}\n`);
    for (let at = 0; at < block.length; at += line.length) line.copy(block, at);
  }
  for (let written = 0; written < BYTES; ) {
    if (payload === 'random bytes') randomFillSync(block);
    // Text continues line by line across blocks (a block is a whole number of lines, plus a cut one).
    const take = Math.min(block.length - (payload === 'text' ? block.length % (LINE.length + 1) : 0), BYTES - written);
    written += writeSync(fd, block, 0, take);
  }
  closeSync(fd);
}

const log = (text: string) => process.stderr.write(`${text}\n`);

async function main(): Promise<void> {
  const temp = makeTempDir('cbench-');
  const keys = { operator: makeKeyPair(temp.path, 'operator'), upstream: makeKeyPair(temp.path, 'upstream') };
  const sshd = await startSshd({ authorizedKeys: [keys.upstream.publicLine] });
  const files = await prepareGatewayFiles({ settings: { listen: { ssh: '127.0.0.1:0', web: 'off' } } });
  let gateway: ChildGateway | null = null;
  let bare: ChildProcess | null = null;
  let postgres: EphemeralPostgres | null = null;
  let pgFiles: TestGatewayFiles | null = null;
  const resources = join(temp.path, 'resources.yaml');
  try {
    const profile = options['cpu-prof'];
    gateway = await spawnGateway(files, {}, profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []);
    const gatewayPort = Number(gateway.addresses.ssh!.split(':').at(-1));
    writeFileSync(
      resources,
      `kind: target
name: bench
spec:
  protocol: ssh
  address: 127.0.0.1:${sshd.port}
  labels: { bench: "yes" }
  hostKey: ${sshd.hostKeyLine}
  credentials: { privateKey: "file:${keys.upstream.privatePath}" }
---
kind: role
name: bench
spec: { targets: { bench: "yes" }, logins: [${sshd.user}], recordInput: true }
---
kind: identity
name: benchmarker
spec: { roles: [bench], sshKeys: ["${keys.operator.publicLine}"] }
`,
    );
    const applied = await files.cli(['apply', '-f', resources]);
    if (applied.code !== 0) throw new Error(applied.stderr);

    bare = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench/ssh-bare-relay.ts'), String(sshd.port), sshd.user, keys.upstream.privatePath], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const barePort = await new Promise<number>((resolve) => bare!.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));

    const common = [
      '-F', '/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      ...(options.cipher ? ['-c', options.cipher] : []),
    ];
    const direct: Endpoint = { name: 'OpenSSH direct', args: [...common, '-i', keys.upstream.privatePath, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`] };
    const relay: Endpoint = { name: 'bare ssh2 relay', args: [...common, '-i', keys.operator.privatePath, '-p', String(barePort), 'x@127.0.0.1'] };
    const custos: Endpoint = { name: 'Custos (recording)', args: [...common, '-i', keys.operator.privatePath, '-p', String(gatewayPort), 'bench@127.0.0.1'] };

    log(`bulk output: ${options.mb} MB per transfer, best of ${RUNS} runs, alternating endpoints`);
    const sources = Object.fromEntries(PAYLOADS.map((payload) => [payload, join(temp.path, `${payload.replace(' ', '-')}.bin`)])) as Record<Payload, string>;
    if (PARTS.has('bulk')) for (const payload of PAYLOADS) writePayload(sources[payload], payload);
    const cases: Array<{ name: string; flags: string[]; payload: Payload }> = [
      ...PAYLOADS.map((payload) => ({ name: `exec ${payload}`, flags: ['-T'], payload })),
      { name: 'recorded pty (text)', flags: ['-tt'], payload: 'text' },
    ];
    const bulk: Record<string, Record<string, number>> = {};
    const recordingBytes: Record<string, number> = {};
    for (const bench of PARTS.has('bulk') ? cases : []) {
      const rates: Record<string, number> = (bulk[bench.name] = {});
      for (let run = 0; run < RUNS; run++) {
        for (const endpoint of [direct, relay, custos]) {
          const rate = await transfer(endpoint, bench.flags, `cat ${sources[bench.payload]}`, bench.payload === 'text' && bench.flags.includes('-tt'));
          rates[endpoint.name] = Math.max(rates[endpoint.name] ?? 0, rate);
          log(`  ${bench.name.padEnd(20)} ${endpoint.name.padEnd(20)} run ${run + 1}: ${rate.toFixed(0)} MB/s`);
          if (endpoint === custos) recordingBytes[bench.name] = await lastRecording(files);
        }
      }
    }

    const noEcho = { p50: NaN, p99: NaN };
    // Let the bulk runs' recordings close and the gateway go quiet before timing keystrokes.
    if (PARTS.has('bulk') && PARTS.has('echo')) await settle(5000);
    if (PARTS.has('echo')) log(`keystroke echo: ${KEYSTROKES} keystrokes each`);
    const echoDirect = PARTS.has('echo') ? await echoLatency(direct) : noEcho;
    const echoCustos = PARTS.has('echo') ? await echoLatency(custos) : noEcho;

    let memory = { sessions: 0, rssBefore: NaN, rssWith: NaN, perSessionBytes: NaN };
    if (PARTS.has('idle')) {
      // A fresh gateway process on a PostgreSQL store: the embedded store's WebAssembly heap
      // moves by tens of MiB on its own, and heap grown by the bulk runs would hide what
      // sessions cost.
      await gateway.stop();
      gateway = null;
      postgres = await startPostgres({ databases: ['custos_bench'] });
      pgFiles = await prepareGatewayFiles({ storeUrl: postgres.url(undefined, 'custos_bench'), settings: { listen: { ssh: '127.0.0.1:0', web: 'off' } } });
      const pgGateway = await spawnGateway(pgFiles);
      gateway = pgGateway;
      const applied = await pgFiles.cli(['apply', '-f', resources]);
      if (applied.code !== 0) throw new Error(applied.stderr);
      const port = Number(pgGateway.addresses.ssh!.split(':').at(-1));
      const fresh: Endpoint = { name: custos.name, args: [...common, '-i', keys.operator.privatePath, '-p', String(port), 'bench@127.0.0.1'] };
      log(`idle sessions: opening ${SESSIONS} (gateway on a PostgreSQL store)`);
      memory = await idleSessions(fresh, pgGateway.child.pid!, SESSIONS);
    }

    const ratio = (mode: string, name: string) => bulk[mode]![name]! / bulk[mode]![relay.name]!;
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      bytes: BYTES,
      cipher: options.cipher ?? 'client default',
      bulk: Object.fromEntries(
        Object.entries(bulk).map(([mode, rates]) => [
          mode,
          {
            ...Object.fromEntries(Object.entries(rates).map(([name, rate]) => [name, { mbPerSecond: round(rate), vsBareRelay: round(ratio(mode, name), 2) }])),
            recordingBytes: recordingBytes[mode],
          },
        ]),
      ),
      echoMs: {
        direct: { p50: round(echoDirect.p50, 2), p99: round(echoDirect.p99, 2) },
        custos: { p50: round(echoCustos.p50, 2), p99: round(echoCustos.p99, 2) },
        added: { p50: round(echoCustos.p50 - echoDirect.p50, 2), p99: round(echoCustos.p99 - echoDirect.p99, 2) },
      },
      idleSessions: memory,
    };

    const lines = [
      '',
      `SSH benchmark (${report.machine.cpus} CPUs, ${process.version}, ${options.mb} MB per transfer, cipher: ${report.cipher})`,
      '',
      'bulk output            OpenSSH direct   bare ssh2 relay   Custos (recording on)   recording size',
      ...Object.keys(bulk).map((mode) => {
        const rate = (name: string) => `${bulk[mode]![name]!.toFixed(0).padStart(4)} MB/s`;
        const size = recordingBytes[mode]!;
        return `  ${mode.padEnd(21)}${rate(direct.name).padEnd(17)}${rate(relay.name).padEnd(18)}${`${rate(custos.name)} (${ratio(mode, custos.name).toFixed(2)}x vs bare relay)`.padEnd(35)}${(size / 1e6).toFixed(1)} MB (${(size / BYTES).toFixed(3)}x payload)`;
      }),
      '',
      `keystroke echo         direct p50 ${echoDirect.p50.toFixed(2)} ms, p99 ${echoDirect.p99.toFixed(2)} ms; Custos p50 ${echoCustos.p50.toFixed(2)} ms, p99 ${echoCustos.p99.toFixed(2)} ms`,
      `                       added by Custos: p50 ${(echoCustos.p50 - echoDirect.p50).toFixed(2)} ms, p99 ${(echoCustos.p99 - echoDirect.p99).toFixed(2)} ms`,
      '',
      `idle sessions          gateway RSS ${mb(memory.rssBefore)} with 20 sessions, ${mb(memory.rssWith)} with ${memory.sessions + 20}: ${(memory.perSessionBytes / 1024).toFixed(0)} KiB per idle session (PostgreSQL store)`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    const dir = join(REPO, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `ssh-${report.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    log(`results written to ${path}`);
  } finally {
    bare?.kill();
    await gateway?.stop();
    await postgres?.stop();
    pgFiles?.remove();
    await sshd.stop();
    files.remove();
    temp.remove();
  }
}

/** Runs `command` through `endpoint`, counting what arrives; MB/s over the whole run. */
function transfer(endpoint: Endpoint, flags: string[], command: string, ptyText: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(SSH, [...flags, ...endpoint.args, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      // A pty turns each \n into \r\n: count the payload, not the terminal's additions.
      const expected = ptyText ? BYTES + Math.floor(BYTES / (LINE.length + 1)) : BYTES;
      if (code !== 0 || bytes < expected) return reject(new Error(`${endpoint.name}: exit ${code}, ${bytes} of ${expected} bytes: ${stderr}`));
      resolve(BYTES / 1_000_000 / seconds);
    });
  });
}

/** Size of the recording of the gateway's last session (then deleted: the runs would fill the disk). */
async function lastRecording(files: TestGatewayFiles): Promise<number> {
  const row = await waitFor(
    async () => {
      const listed = await files.cli(['sessions', 'ls', '--limit', '1', '--format', 'json']);
      const session = JSON.parse(listed.stdout.trim()) as { state: string; recordingPath: string; recordingBytes: number | null };
      return session.state === 'closed' && session.recordingBytes !== null ? session : undefined;
    },
    { timeoutMs: 60_000, what: 'the recorded session to close' },
  );
  rmSync(row.recordingPath, { force: true });
  return row.recordingBytes!;
}

/** Types single characters into a remote `cat` (echo on, non-canonical) and times each echo. */
async function echoLatency(endpoint: Endpoint): Promise<{ p50: number; p99: number }> {
  const term = spawnInPty(SSH, ['-tt', ...endpoint.args, 'stty -icanon; echo READY; exec cat >/dev/null']);
  await term.waitFor('READY', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const samples: number[] = [];
  let seen = term.output().length;
  for (let i = 0; i < KEYSTROKES; i++) {
    const key = String.fromCharCode(97 + (i % 26));
    const started = performance.now();
    term.write(key);
    await waitFor(
      () => {
        const fresh = term.output().slice(seen);
        return fresh.includes(key) ? true : undefined;
      },
      { intervalMs: 0, timeoutMs: 10_000, what: 'an echo' },
    );
    samples.push(performance.now() - started);
    seen = term.output().length;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  term.kill();
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

await main();
