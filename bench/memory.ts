/**
 * `npm run bench:memory` — the gateway's resident memory as a user runs it: `node
 * bin/custos.js start` (the compiled CLI, no tsx) in a fresh directory with nothing but its
 * listen addresses configured, so on the embedded store's defaults. It measures, once
 * /healthz says ok and the memory has stopped moving:
 *   - the idle gateway on the embedded store: first start (a new store) and restarted;
 *   - then, on that store, the memory each idle SSH session adds, with --sessions sessions
 *     open to a real OpenSSH sshd (this gateway collects its garbage before each reading);
 *   - the idle gateway on a PostgreSQL store, for comparison.
 * Each figure is printed with where the memory is (from /proc/PID/smaps), and the aims:
 * idle gateway on embedded defaults ≤ 200 MiB, an idle SSH session ≤ 256 KiB.
 * Options: --sessions 200. Linux only (/proc). Not a test: numbers depend on the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { INSTALL_SSH_CLIENT, requireBinary } from '../test/helpers/binaries.js';
import { startPostgres, type EphemeralPostgres } from '../test/helpers/postgres.js';
import { makeKeyPair } from '../test/helpers/ssh-keys.js';
import { startSshd } from '../test/helpers/sshd.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait.js';
import { idleSessions, stableRss } from './idle-sessions.js';

const { values: options } = parseArgs({ options: { sessions: { type: 'string', default: '200' } } });
const SESSIONS = Number(options.sessions);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const AIM_IDLE_MIB = 200;
const AIM_SESSION_KIB = 256;
const MiB = 1024 * 1024;
/**
 * For the sessions phase only: the gateway collects the main thread's garbage on SIGUSR2.
 * Without it the difference between two readings is mostly when V8 last ran (± tens of MiB).
 */
const GC_ON_SIGNAL = ['--expose-gc', `--import=data:text/javascript,${encodeURIComponent("process.on('SIGUSR2', () => globalThis.gc())")}`];

const log = (text: string) => process.stderr.write(`${text}\n`);

interface RunningGateway {
  child: ChildProcess;
  addresses: Record<string, string>;
  stop(): Promise<void>;
}

interface IdleMemory {
  rss: number;
  anon: number;
  breakdown: string;
}

async function main(): Promise<void> {
  requireBinary('ssh', INSTALL_SSH_CLIENT);
  warnIfBuildIsStale();
  const temp = makeTempDir('cmem-');
  const keys = { operator: makeKeyPair(temp.path, 'operator'), upstream: makeKeyPair(temp.path, 'upstream') };
  const sshd = await startSshd({ authorizedKeys: [keys.upstream.publicLine] });
  let gateway: RunningGateway | null = null;
  let postgres: EphemeralPostgres | null = null;
  try {
    const embedded = join(temp.path, 'embedded');
    log('embedded store, first start (a new store)');
    gateway = await startGateway(embedded, {});
    const first = await idleMemory(gateway);
    await gateway.stop();

    log('embedded store, restarted');
    gateway = await startGateway(embedded, {});
    const restarted = await idleMemory(gateway);
    await gateway.stop();

    log(`idle SSH sessions: opening ${SESSIONS} through the embedded-store gateway`);
    gateway = await startGateway(embedded, {}, GC_ON_SIGNAL);
    const resources = join(temp.path, 'resources.yaml');
    const documents = [
      { kind: 'target', name: 'bench', spec: { protocol: 'ssh', address: `127.0.0.1:${sshd.port}`, hostKey: sshd.hostKeyLine, credentials: { privateKey: `file:${keys.upstream.privatePath}` } } },
      { kind: 'role', name: 'bench', spec: { targets: { name: 'bench' }, logins: [sshd.user] } },
      { kind: 'identity', name: 'benchmarker', spec: { roles: ['bench'], sshKeys: [keys.operator.publicLine] } },
    ];
    writeFileSync(resources, documents.map((document) => stringify(document)).join('---\n'));
    await custos(embedded, ['apply', '-f', resources]);
    const sshPort = gateway.addresses.ssh!.split(':').at(-1)!;
    const ssh = [
      '-F', '/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-i', keys.operator.privatePath, '-p', sshPort, 'bench@127.0.0.1',
    ];
    const pid = gateway.child.pid!;
    const sessions = await idleSessions({ name: 'custos', args: ssh }, pid, SESSIONS, () => process.kill(pid, 'SIGUSR2'));
    await gateway.stop();
    gateway = null;

    log('PostgreSQL store');
    postgres = await startPostgres({ databases: ['custos_store'] });
    gateway = await startGateway(join(temp.path, 'postgres'), { store: { url: postgres.url(undefined, 'custos_store') } });
    const withPostgres = await idleMemory(gateway);
    await gateway.stop();
    gateway = null;

    const row = (name: string, memory: IdleMemory) => [
      `  ${name.padEnd(34)}${mib(memory.rss).padStart(8)}   (anonymous ${mib(memory.anon)})`,
      `    ${memory.breakdown}`,
    ];
    const perSessionKib = sessions.perSessionBytes / 1024;
    const embeddedWorst = Math.max(first.rss, restarted.rss);
    const lines = [
      '',
      `gateway resident memory, idle (/healthz ok, then 10 samples a second apart within 512 KiB), ${process.version}`,
      '',
      ...row('embedded store, first start', first),
      ...row('embedded store, restarted', restarted),
      ...row('PostgreSQL store', withPostgres),
      '',
      `  idle SSH sessions (embedded store): anonymous memory ${mib(sessions.rssBefore)} with 20 open, ${mib(sessions.rssWith)} with ${sessions.sessions + 20}:`,
      `    ${perSessionKib.toFixed(0)} KiB per idle session`,
      '',
      aim(`idle gateway on embedded defaults ≤ ${AIM_IDLE_MIB} MiB`, embeddedWorst <= AIM_IDLE_MIB * MiB, `${mib(first.rss)} first start, ${mib(restarted.rss)} restarted`),
      aim(`idle SSH session ≤ ${AIM_SESSION_KIB} KiB`, perSessionKib <= AIM_SESSION_KIB, `${perSessionKib.toFixed(0)} KiB at ${sessions.sessions} sessions`),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await gateway?.stop();
    await postgres?.stop();
    await sshd.stop();
    temp.remove();
  }
}

/** `custos start` in `dir` with its own custos.yaml: loopback listeners on free ports, `settings` over them. */
async function startGateway(dir: string, settings: Record<string, unknown>, nodeOptions: string[] = []): Promise<RunningGateway> {
  mkdirSync(dir, { recursive: true });
  const config = { listen: { ssh: '127.0.0.1:0', postgres: '127.0.0.1:0', kubernetes: '127.0.0.1:0', web: '127.0.0.1:0' }, ...settings };
  writeFileSync(join(dir, 'custos.yaml'), stringify(config));
  const child = spawn(process.execPath, [...nodeOptions, join(REPO, 'bin/custos.js'), 'start'], { cwd: dir, env: withoutCustosVariables(), stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr!.on('data', (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${logs}`);
      const line = logs.split('\n').find((text) => text.includes('"custos is ready"'));
      return line ? (JSON.parse(line) as { addresses: Record<string, string> }) : undefined;
    },
    { timeoutMs: 180_000, what: 'the gateway to be ready' },
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
  await waitFor(
    async () => {
      const response = await fetch(`http://${ready.addresses.web}/healthz`);
      return response.ok && ((await response.json()) as { status: string }).status === 'ok';
    },
    { timeoutMs: 60_000, what: '/healthz to say ok' },
  );
  return {
    child,
    addresses: ready.addresses,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function idleMemory(gateway: RunningGateway): Promise<IdleMemory> {
  const pid = gateway.child.pid!;
  const rss = await stableRss(() => statusField(pid, 'VmRSS'));
  return { rss, anon: statusField(pid, 'RssAnon'), breakdown: smapsBreakdown(pid) };
}

function statusField(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/**
 * Where the resident memory is, by mapping. Heuristics that hold for Node 20 on Linux/glibc:
 * PGlite's WebAssembly memory is one anonymous read-write mapping of at least 128 MiB (V8
 * reserves it whole, pages become resident when touched); a thread's malloc arena is an
 * anonymous mapping of at most 64 MiB aligned to 64 MiB; the rest of the anonymous memory is
 * V8's heaps (JavaScript objects of the main thread and the store's worker thread) and large
 * buffers.
 */
function smapsBreakdown(pid: number): string {
  const totals = new Map<string, number>();
  for (const block of readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [range, perms, , , , ...rest] = block.split('\n')[0]!.split(/\s+/);
    const name = rest.join(' ');
    const start = Number.parseInt(range!.split('-')[0]!, 16);
    const size = Number(/\nSize:\s+(\d+) kB/.exec(block)?.[1] ?? 0) * 1024;
    const rss = Number(/\nRss:\s+(\d+) kB/.exec(block)?.[1] ?? 0) * 1024;
    const kind = name.startsWith('/')
      ? 'mapped files'
      : name === '[heap]'
        ? 'main malloc heap'
        : perms!.includes('x')
          ? 'JIT code'
          : perms === 'rw-p' && size >= 128 * MiB
            ? 'WebAssembly memory'
            : start % (64 * MiB) === 0 && size <= 64 * MiB
              ? 'thread malloc arenas'
              : 'V8 heaps and large buffers';
    totals.set(kind, (totals.get(kind) ?? 0) + rss);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([kind, bytes]) => `${kind} ${(bytes / MiB).toFixed(0)}`).join(', ') + ' (MiB)';
}

function custos(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/custos.js'), ...args], { cwd, env: withoutCustosVariables(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`custos ${args.join(' ')} failed (${code}): ${stderr}`))));
  });
}

/** The gateway reads its settings from custos.yaml only, as on a fresh install. */
function withoutCustosVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CUSTOS_')));
}

/** bin/custos.js runs dist/: a build older than the sources measures old code. */
function warnIfBuildIsStale(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { recursive: true }).map(String).filter((file) => /\.[jt]s$/.test(file)).map((file) => statSync(join(dir, file)).mtimeMs));
  if (newest(join(REPO, 'src')) > newest(join(REPO, 'dist'))) log('warning: dist/ is older than src/; run `npm run build` first');
}

function aim(what: string, met: boolean, measured: string): string {
  return `aim: ${what}: ${met ? 'met' : 'NOT met'} (${measured})`;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

await main();
