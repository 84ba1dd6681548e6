import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Gateway, type GatewayOptions } from '../../src/cli/gateway.js';
import { loadConfig, type GatewayConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { custosCommand, runCli, REPO_ROOT, type CliResult } from './cli.js';
import { copyStoreTemplate, ensureStoreTemplate } from './store-template.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait.js';

export interface TestGatewaySettings {
  /** Settings merged over the test defaults (all listeners on 127.0.0.1:0, web only). */
  settings?: Record<string, unknown>;
  /** Use this store URL instead of a fresh embedded store. */
  storeUrl?: string;
  /** Keep the data dir (and store) from an earlier gateway. */
  dataDir?: string;
}

export interface TestGatewayFiles {
  dataDir: string;
  configPath: string;
  /** Runs the real CLI against this gateway's config. */
  cli(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  remove(): void;
}

/**
 * Prepares a data dir (with a copy of the migrated store template) and a config file.
 * Listeners default to 127.0.0.1:0 with only `web` on; pass `listen` settings for others.
 * Stopping ends live sessions at once (`shutdown.grace: 0`) unless a test sets a grace.
 */
export async function prepareGatewayFiles(options: TestGatewaySettings = {}): Promise<TestGatewayFiles> {
  const temp = options.dataDir ? null : makeTempDir('cgw-');
  const dataDir = options.dataDir ?? temp!.path;
  const storeDir = join(dataDir, 'store');
  mkdirSync(dataDir, { recursive: true });
  if (!options.storeUrl && !options.dataDir) {
    copyStoreTemplate(process.env.CUSTOS_TEST_STORE_TEMPLATE ?? (await ensureStoreTemplate()), storeDir);
  }
  const settings = mergeSettings(
    {
      dataDir,
      nodeName: 'test-node',
      store: { url: options.storeUrl ?? `pglite://${storeDir}` },
      listen: { web: '127.0.0.1:0', ssh: 'off', postgres: 'off', kubernetes: 'off' },
      log: { level: process.env.CUSTOS_TEST_LOG ?? 'error' },
      // Sessions a test leaves open end at once when its gateway stops; grace is tested on its own.
      shutdown: { grace: '0' },
    },
    options.settings ?? {},
  );
  const configPath = join(dataDir, 'custos.yaml');
  writeFileSync(configPath, stringify(settings));
  return {
    dataDir,
    configPath,
    cli: (args, cliOptions = {}) => runCli([...args, '--config', configPath], cliOptions),
    remove: () => temp?.remove(),
  };
}

export interface TestGateway extends TestGatewayFiles {
  gateway: Gateway;
  config: GatewayConfig;
  /** `host:port` of a started listener. */
  address(protocol: string): { host: string; port: number };
  stop(): Promise<void>;
}

/** A gateway running in this process on a fresh data dir. */
export async function startTestGateway(options: TestGatewaySettings & Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const files = await prepareGatewayFiles(options);
  const config = loadConfig({ file: files.configPath });
  const gateway = await Gateway.start(config, {
    logger: createLogger(config.log.level),
    ...(options.protocols ? { protocols: options.protocols } : {}),
    ...(options.webPlugins ? { webPlugins: options.webPlugins } : {}),
  });
  return {
    ...files,
    gateway,
    config,
    address: (protocol) => {
      const address = gateway.addresses[protocol];
      if (!address) throw new Error(`the ${protocol} listener is not running`);
      return address;
    },
    stop: async () => {
      await gateway.stop();
      if (!options.dataDir) files.remove();
    },
  };
}

export interface ChildGateway {
  child: ChildProcess;
  /** Listener addresses, read from the gateway's "custos is ready" log line. */
  addresses: Record<string, string>;
  logs(): string;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
}

/** `custos start` as a child process (for crash and signal tests). */
export async function spawnGateway(files: TestGatewayFiles, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<ChildGateway> {
  const { command, args } = custosCommand(['start', '--config', files.configPath]);
  const child = spawn(command, [...nodeArgs, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CUSTOS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${logs}`);
      const line = logs.split('\n').find((l) => l.includes('"custos is ready"'));
      return line ? (JSON.parse(line) as { addresses: Record<string, string> }) : undefined;
    },
    { timeoutMs: 60_000, what: 'the gateway to be ready' },
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${logs}`);
  });
  return {
    child,
    addresses: ready.addresses,
    logs: () => logs,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function mergeSettings(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] =
      typeof existing === 'object' && existing && !Array.isArray(existing) && typeof value === 'object' && value && !Array.isArray(value)
        ? mergeSettings(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}
