import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { custosCommand, REPO_ROOT } from './cli.js';
import { prepareGatewayFiles, type TestGatewayFiles } from './gateway.js';
import { runFuzzCase, type FuzzLogin, type FuzzOutcome } from './pg-fuzz-connection.js';
import { fuzzCase, type FuzzPhase } from './pg-fuzz-inputs.js';
import { startPostgres, type EphemeralPostgres } from './postgres.js';
import { waitFor } from './wait.js';

export interface FuzzOptions {
  inputs: number;
  seed: number;
  /** Connections open at once. */
  concurrency: number;
  /** Run only these input indices (to replay what a run reported). */
  only?: number[];
  /** How long the gateway may stay silent before a connection closes its side (default 150). */
  idleMs?: number;
  log?: (line: string) => void;
  progressEveryMs?: number;
}

export interface FuzzReport {
  seed: number;
  inputsSent: number;
  seconds: number;
  phases: Record<FuzzPhase, number>;
  /** How connections ended: a SQLSTATE (of the last FATAL error they received), GATEWAY_INTERNAL_ERROR, or closed / idle / hung / reset / login-failed. */
  outcomes: Record<string, number>;
  gatewayCrashes: number;
  crash: { code: number | null; signal: string | null; inFlight: string[]; logTail: string[] } | null;
  /** The gateway's warn and error log lines, counted by message. */
  gatewayLog: Record<string, number>;
  gatewayLogSamples: string[];
  peakRssBytes: number;
  steady: { queries: number; disturbed: boolean; problems: string[]; maxLatencyMs: number };
  /** Inputs whose valid prefix (login) did not work, and connections the gateway never closed. */
  samples: { loginFailed: string[]; hung: string[]; internalError: string[] };
  /** First line of `custos verify` after the run. */
  auditChain: string;
  /** How the gateway stopped on SIGTERM after the run (killed: it was still running 30 s later). */
  gatewayStop: { code: number | null; signal: string | null; seconds: number; killed: boolean; logTail: string[] } | null;
}

const IDENTITY = { user: 'alice', database: 'open' };

/** The outcome key of an input the gateway itself failed on (PostgreSQL's own XX000 are counted apart). */
export const GATEWAY_INTERNAL_ERROR = 'XX000 from the gateway';

function errorKey(outcome: { code: string; message: string }): string {
  // The gateway's two internal-error answers ("… could not serve this connection", "internal error in the gateway …").
  return outcome.code === 'XX000' && /gateway/.test(outcome.message) ? GATEWAY_INTERNAL_ERROR : outcome.code;
}

/**
 * Fuzzes a running gateway (`custos start`, a child process) in front of a real PostgreSQL:
 * `inputs` mutated frontend streams over `concurrency` connections at once, while a steady
 * node-postgres session beside them runs queries and checks every answer.
 */
export async function runPgFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const target = await startFuzzTarget(options.log);
  try {
    return await fuzzGateway(target, options);
  } finally {
    await target.stop();
  }
}

/** The fuzzing run on a started target; the gateway is stopped at the end (its exit code is reported). */
export async function fuzzGateway(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const { gateway } = target;
  const login = target.login(options.idleMs ?? 150);
  const indices = options.only ?? null;
  const total = indices ? indices.length : options.inputs;
  const phases: Record<FuzzPhase, number> = { startup: 0, auth: 0, session: 0 };
  const outcomes: Record<string, number> = {};
  const samples = { loginFailed: [] as string[], hung: [] as string[], internalError: [] as string[] };
  const inFlight = new Map<number, string>();
  const sample = (list: string[], text: string) => list.length < 10 && list.push(text);

  const steady = new SteadySession(login);
  await steady.start();
  const started = Date.now();
  let next = 0;
  let sent = 0;
  const progress = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    log(
      `${sent}/${total} inputs, ${(sent / seconds).toFixed(0)}/s, 08P01 ${outcomes['08P01'] ?? 0}, gateway RSS ${mb(gateway.rss().current)} MB (peak ${mb(gateway.rss().peak)}), steady queries ${steady.queries}${steady.problems.length ? ' DISTURBED' : ''}`,
    );
  }, options.progressEveryMs ?? 10_000);

  const worker = async () => {
    while (next < total && !gateway.exited) {
      const index = indices ? indices[next++]! : next++;
      const fuzzed = fuzzCase(options.seed, index, IDENTITY);
      phases[fuzzed.phase] += 1;
      inFlight.set(index, `#${index} ${fuzzed.phase}: ${fuzzed.description}`);
      const outcome: FuzzOutcome = await runFuzzCase(fuzzed, login).catch((err: Error) => ({ kind: 'login-failed', message: `connect: ${err.message}` }));
      inFlight.delete(index);
      sent += 1;
      const key = outcome.kind === 'error' ? errorKey(outcome) : outcome.kind;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (outcome.kind === 'login-failed') sample(samples.loginFailed, `#${index}: ${outcome.message}`);
      if (outcome.kind === 'hung') sample(samples.hung, `#${index} ${fuzzed.phase}: ${fuzzed.description}`);
      if (key === GATEWAY_INTERNAL_ERROR) sample(samples.internalError, `#${index} ${fuzzed.phase}: ${fuzzed.description}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, total) }, worker));
  clearInterval(progress);
  const seconds = (Date.now() - started) / 1000;

  const crashed = gateway.exited;
  const crash = crashed ? { code: crashed.code, signal: crashed.signal, inFlight: [...inFlight.values()], logTail: gateway.tail() } : null;
  await steady.stop(!crashed);
  const rss = gateway.rss();
  const auditChain = crashed ? 'not checked (the gateway crashed)' : ((await target.files.cli(['verify'])).stdout.split('\n')[0] ?? '');
  const gatewayStop = crashed ? null : await gateway.stop();
  return {
    seed: options.seed,
    inputsSent: sent,
    seconds,
    phases,
    outcomes,
    gatewayCrashes: crashed ? 1 : 0,
    crash,
    gatewayLog: gateway.logCounts,
    gatewayLogSamples: gateway.logSamples,
    peakRssBytes: rss.peak,
    steady: { queries: steady.queries, disturbed: steady.problems.length > 0, problems: steady.problems, maxLatencyMs: steady.maxLatencyMs },
    samples,
    auditChain,
    gatewayStop,
  };
}

/** node-postgres beside the fuzzing, alternating extended and simple queries, checking every answer. */
class SteadySession {
  queries = 0;
  maxLatencyMs = 0;
  readonly problems: string[] = [];
  private stopping = false;
  private loop: Promise<void> | null = null;
  private client: pg.Client;

  constructor(private readonly login: FuzzLogin) {
    this.client = this.newClient();
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.loop = this.run();
  }

  /** Stops the loop; with `checkFresh`, also checks that a new session works after the run. */
  async stop(checkFresh: boolean): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.client.end().catch(() => undefined);
    if (!checkFresh) return;
    const fresh = this.newClient();
    try {
      await fresh.connect();
      const { rows } = await fresh.query('select 40 + 2 as n');
      if (rows[0]?.n !== 42) this.problems.push(`a session opened after the run got ${JSON.stringify(rows)}`);
    } catch (err) {
      this.problems.push(`a session opened after the run failed: ${(err as Error).message}`);
    } finally {
      await fresh.end().catch(() => undefined);
    }
  }

  private newClient(): pg.Client {
    const client = new pg.Client({ host: '127.0.0.1', port: this.login.port, user: this.login.user, password: this.login.token, database: this.login.database, ssl: false });
    client.on('error', (err) => this.problems.push(`connection error: ${err.message}`));
    return client;
  }

  private async run(): Promise<void> {
    while (!this.stopping && this.problems.length === 0) {
      const n = this.queries + 1;
      const begin = performance.now();
      try {
        if (n % 2) {
          const { rows } = await this.client.query('select $1::int * 2 as n', [n]);
          if (rows[0]?.n !== n * 2) this.problems.push(`query ${n}: expected ${n * 2}, got ${JSON.stringify(rows)}`);
        } else {
          const { rows } = await this.client.query(`select ${n} as n, 'steady' as s`);
          if (rows[0]?.n !== n || rows[0]?.s !== 'steady') this.problems.push(`query ${n}: got ${JSON.stringify(rows)}`);
        }
      } catch (err) {
        this.problems.push(`query ${n} failed: ${(err as Error).message}`);
      }
      this.maxLatencyMs = Math.max(this.maxLatencyMs, performance.now() - begin);
      this.queries = n;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

export interface FuzzTarget {
  postgres: EphemeralPostgres;
  files: TestGatewayFiles;
  gateway: FuzzGateway;
  token: string;
  /** How fuzz cases reach the gateway and log in. */
  login(idleMs?: number): FuzzLogin;
  stop(): Promise<void>;
}

/** PostgreSQL (as the target and the store) and the gateway in front of it, with one identity and its token. */
export async function startFuzzTarget(log: (line: string) => void = () => undefined): Promise<FuzzTarget> {
  log('starting PostgreSQL');
  const postgres = await startPostgres({ users: [{ name: 'trusting', auth: 'trust' }], databases: ['orders', 'custos_store'] });
  const admin = await postgres.admin('orders');
  await admin.query('create table items (id int primary key, name text, price numeric)');
  await admin.query(`insert into items select g, 'item ' || g, g * 1.5 from generate_series(1, 100) g`);
  await admin.query('grant select on items to trusting');
  // A mutated statement must not run long: the fuzzer's sessions are ended by the server after 2 s.
  await admin.query(`alter role trusting set statement_timeout = '2s'`);
  await admin.end();

  const files = await prepareGatewayFiles({
    storeUrl: postgres.url(postgres.superuser, 'custos_store'),
    // Fuzz connections still open when the run ends are ended at once, not after the shutdown grace.
    settings: { listen: { postgres: '127.0.0.1:0', web: 'off' }, postgres: { allowPlaintext: true }, shutdown: { grace: '0' } },
  });
  log('starting the gateway (custos start)');
  const gateway = await FuzzGateway.spawn(files);
  const resources = join(files.dataDir, 'fuzz-resources.yaml');
  writeFileSync(
    resources,
    `kind: target\nname: open\nspec:\n  protocol: postgres\n  address: 127.0.0.1:${postgres.port}\n  database: orders\n---\n` +
      `kind: role\nname: fuzzers\nspec:\n  targets: { name: open }\n  dbUsers: [trusting]\n---\n` +
      `kind: identity\nname: alice\nspec:\n  kind: human\n  roles: [fuzzers]\n`,
  );
  const applied = await files.cli(['apply', '-f', resources]);
  if (applied.code !== 0) throw new Error(`custos apply failed: ${applied.stderr}`);
  const created = await files.cli(['token', 'create', 'alice', '--ttl', 'never']);
  if (created.code !== 0) throw new Error(`custos token create failed: ${created.stderr}`);
  const token = created.stdout.trim();
  return {
    postgres,
    files,
    gateway,
    token,
    login: (idleMs = 150) => ({ port: gateway.port, ...IDENTITY, token, idleMs, hangMs: 30_000 }),
    stop: async () => {
      await gateway.stop();
      await postgres.stop();
      files.remove();
    },
  };
}

/** `custos start` as a child process, watched: its exit, its warn/error log lines, its memory. */
export class FuzzGateway {
  exited: { code: number | null; signal: string | null } | null = null;
  readonly logCounts: Record<string, number> = {};
  readonly logSamples: string[] = [];
  private readonly lines: string[] = [];
  private peakSampled = 0;
  private readonly sampler: NodeJS.Timeout;
  private readonly exit: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    exit: Promise<number | null>,
  ) {
    this.exit = exit;
    this.sampler = setInterval(() => this.rss(), 1000);
    this.sampler.unref();
  }

  static async spawn(files: TestGatewayFiles): Promise<FuzzGateway> {
    const { command, args } = custosCommand(['start', '--config', files.configPath]);
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, CUSTOS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let gateway: FuzzGateway | null = null;
    let ready: Record<string, string> | null = null;
    const early: string[] = [];
    const onLine = (line: string) => {
      if (gateway) gateway.onLine(line);
      else early.push(line);
      if (line.includes('"custos is ready"')) ready = (JSON.parse(line) as { addresses: Record<string, string> }).addresses;
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          onLine(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      });
    }
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => {
        if (gateway && !gateway.stopping) gateway.exited = { code, signal };
        resolve(code);
      }),
    );
    const addresses = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${early.join('\n')}`);
        return ready;
      },
      { timeoutMs: 60_000, what: 'the gateway to be ready' },
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw err;
    });
    gateway = new FuzzGateway(child, Number(addresses.postgres!.split(':').at(-1)), exit);
    for (const line of early) gateway.onLine(line);
    return gateway;
  }

  private stopping = false;

  /** Resident memory now and at its peak (VmHWM: the kernel's high-water mark), in bytes. */
  rss(): { current: number; peak: number } {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      this.peakSampled = Math.max(this.peakSampled, kb('VmHWM'), kb('VmRSS'));
      return { current: kb('VmRSS'), peak: this.peakSampled };
    } catch {
      return { current: 0, peak: this.peakSampled };
    }
  }

  tail(): string[] {
    return this.lines.slice(-30);
  }

  /** SIGTERM, then SIGKILL if it is still running 30 s later. */
  async stop(): Promise<{ code: number | null; signal: string | null; seconds: number; killed: boolean; logTail: string[] }> {
    clearInterval(this.sampler);
    const started = Date.now();
    let killed = false;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.stopping = true;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        this.child.kill('SIGKILL');
      }, 30_000);
      await this.exit;
      clearTimeout(timer);
    }
    return { code: this.child.exitCode, signal: this.child.signalCode, seconds: (Date.now() - started) / 1000, killed, logTail: killed || this.child.exitCode !== 0 ? this.tail() : [] };
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 200) this.lines.splice(0, 100);
    let record: { level?: string; msg?: string };
    try {
      record = JSON.parse(line) as { level?: string; msg?: string };
    } catch {
      record = { level: 'error', msg: line.slice(0, 200) };
    }
    if (record.level !== 'warn' && record.level !== 'error') return;
    const key = `${record.level}: ${record.msg}`;
    if (!(key in this.logCounts) && this.logSamples.length < 20) this.logSamples.push(line.slice(0, 1000));
    this.logCounts[key] = (this.logCounts[key] ?? 0) + 1;
  }
}

function stopText(stop: FuzzReport['gatewayStop']): string {
  if (!stop) return 'not stopped (it crashed)';
  const how = stop.killed ? 'still running after 30 s, killed' : stop.signal ? `ended by ${stop.signal}` : `exit code ${stop.code}`;
  return `${how} (${stop.seconds.toFixed(1)} s)${stop.logTail.length ? `\n  gateway log tail:\n${stop.logTail.map((line) => `    ${line}`).join('\n')}` : ''}`;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

/** The report as the lines `npm run fuzz:pg` prints. */
export function formatFuzzReport(report: FuzzReport): string {
  const outcomes = Object.entries(report.outcomes).sort((a, b) => b[1] - a[1]);
  const lines = [
    `seed ${report.seed}: ${report.inputsSent} inputs sent in ${report.seconds.toFixed(1)} s (${(report.inputsSent / report.seconds).toFixed(0)}/s)`,
    `  by phase: startup ${report.phases.startup}, auth ${report.phases.auth}, post-auth ${report.phases.session}`,
    `  connections ended by 08P01 (protocol violation): ${report.outcomes['08P01'] ?? 0}`,
    `  all endings: ${outcomes.map(([key, count]) => `${key} ${count}`).join(', ')}`,
    '  (idle: no answer within the idle time, usually a message still waiting for its bytes; the fuzzer closed its side and the gateway closed. closed: closed by the gateway without an error.)',
    `gateway crashes: ${report.gatewayCrashes}${report.crash ? ` (exit code ${report.crash.code}, signal ${report.crash.signal})` : ''}`,
    `gateway peak RSS: ${mb(report.peakRssBytes)} MB`,
    `steady session: ${report.steady.queries} queries, ${report.steady.disturbed ? `DISTURBED: ${report.steady.problems.join('; ')}` : 'never disturbed'} (slowest answer ${report.steady.maxLatencyMs.toFixed(0)} ms)`,
    `audit chain after the run: ${report.auditChain}`,
    `gateway after SIGTERM: ${stopText(report.gatewayStop)}`,
  ];
  const logs = Object.entries(report.gatewayLog);
  lines.push(`gateway warn/error log lines: ${logs.length ? logs.map(([key, count]) => `${key} ×${count}`).join('; ') : 'none'}`);
  for (const [name, list] of Object.entries(report.samples)) if (list.length) lines.push(`  ${name}: ${list.join(' | ')}`);
  if (report.crash) lines.push('  in flight when the gateway died:', ...report.crash.inFlight.map((x) => `    ${x}`), '  gateway log tail:', ...report.crash.logTail.map((x) => `    ${x}`));
  return lines.join('\n');
}
