import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { LogLevel } from './logger.js';
import { isDuration, parseDuration } from './duration.js';
import { parseHostPort } from './listener.js';
import { MEMORY_SIZE, PGLITE_DEFAULTS, withPgliteSettings } from './pglite-settings.js';

/**
 * Server settings (custos.yaml). Resources — targets, identities, roles — are not here:
 * they live in the store and change through `custos apply`.
 *
 * Precedence: built-in defaults < the config file < CUSTOS_* environment variables.
 * Relative paths resolve against the working directory of the process.
 */
export interface GatewayConfig {
  /** Where the config came from, for messages. */
  source: string;
  dataDir: string;
  nodeName: string;
  store: { url: string };
  listen: { ssh: string | null; postgres: string | null; kubernetes: string | null; web: string | null };
  tls: { cert: string; key: string; ca: string; generated: boolean };
  ssh: { hostKey: string; notice: string; maxChannelsPerConnection: number };
  shutdown: { graceMs: number };
  postgres: {
    allowPlaintext: boolean;
    maxMessageBytes: number;
    startupTimeoutMs: number;
    maxStartupConnections: number;
    maxPreparedStatements: number;
    maxPreparedBytes: number;
  };
  /** `publicUrl`: the Kubernetes listener as clients reach it (kubeconfigs); null: https://<listen.kubernetes>. */
  kubernetes: { publicUrl: string | null; apiSessionIdleMs: number };
  recordings: { dir: string };
  web: { tls: boolean; sessionIdleTimeout: string; sessionMaxAge: string };
  admin: { socket: string };
  requests: { expireAfterMs: number };
  notifications: { webhook: string | null };
  log: { level: LogLevel };
}

type Leaf = 'string' | 'boolean' | 'number' | 'listen';

/** Every settable key, its environment variable and its type: the documented surface. */
export const CONFIG_KEYS: ReadonlyArray<{ path: string; env: string; type: Leaf; default: string }> = [
  { path: 'dataDir', env: 'CUSTOS_DATA_DIR', type: 'string', default: './custos-data' },
  { path: 'nodeName', env: 'CUSTOS_NODE_NAME', type: 'string', default: 'the host name' },
  { path: 'store.url', env: 'CUSTOS_STORE_URL', type: 'string', default: 'pglite://<dataDir>/store' },
  { path: 'store.pglite.sharedBuffers', env: 'CUSTOS_STORE_PGLITE_SHARED_BUFFERS', type: 'string', default: PGLITE_DEFAULTS.sharedBuffers },
  { path: 'store.pglite.workMem', env: 'CUSTOS_STORE_PGLITE_WORK_MEM', type: 'string', default: PGLITE_DEFAULTS.workMem },
  { path: 'store.pglite.maintenanceWorkMem', env: 'CUSTOS_STORE_PGLITE_MAINTENANCE_WORK_MEM', type: 'string', default: PGLITE_DEFAULTS.maintenanceWorkMem },
  { path: 'store.pglite.optimizingCompiler', env: 'CUSTOS_STORE_PGLITE_OPTIMIZING_COMPILER', type: 'boolean', default: String(PGLITE_DEFAULTS.optimizingCompiler) },
  { path: 'listen.ssh', env: 'CUSTOS_LISTEN_SSH', type: 'listen', default: '127.0.0.1:2222' },
  { path: 'listen.postgres', env: 'CUSTOS_LISTEN_POSTGRES', type: 'listen', default: '127.0.0.1:6432' },
  { path: 'listen.kubernetes', env: 'CUSTOS_LISTEN_KUBERNETES', type: 'listen', default: '127.0.0.1:8443' },
  { path: 'listen.web', env: 'CUSTOS_LISTEN_WEB', type: 'listen', default: '127.0.0.1:8080' },
  { path: 'tls.cert', env: 'CUSTOS_TLS_CERT', type: 'string', default: '<dataDir>/tls/server.crt (generated)' },
  { path: 'tls.key', env: 'CUSTOS_TLS_KEY', type: 'string', default: '<dataDir>/tls/server.key (generated)' },
  { path: 'tls.ca', env: 'CUSTOS_TLS_CA', type: 'string', default: '<dataDir>/tls/ca.crt (generated)' },
  { path: 'ssh.hostKey', env: 'CUSTOS_SSH_HOST_KEY', type: 'string', default: '<dataDir>/ssh_host_ed25519_key (generated)' },
  { path: 'ssh.notice', env: 'CUSTOS_SSH_NOTICE', type: 'string', default: 'a line saying the session is recorded, with its id' },
  { path: 'ssh.maxChannelsPerConnection', env: 'CUSTOS_SSH_MAX_CHANNELS_PER_CONNECTION', type: 'number', default: '10' },
  { path: 'shutdown.grace', env: 'CUSTOS_SHUTDOWN_GRACE', type: 'string', default: '30s' },
  { path: 'postgres.allowPlaintext', env: 'CUSTOS_POSTGRES_ALLOW_PLAINTEXT', type: 'boolean', default: 'false' },
  { path: 'postgres.maxMessageBytes', env: 'CUSTOS_POSTGRES_MAX_MESSAGE_BYTES', type: 'number', default: '67108864' },
  { path: 'postgres.startupTimeoutMs', env: 'CUSTOS_POSTGRES_STARTUP_TIMEOUT_MS', type: 'number', default: '10000' },
  { path: 'postgres.maxStartupConnections', env: 'CUSTOS_POSTGRES_MAX_STARTUP_CONNECTIONS', type: 'number', default: '1000' },
  { path: 'postgres.maxPreparedStatements', env: 'CUSTOS_POSTGRES_MAX_PREPARED_STATEMENTS', type: 'number', default: '10000' },
  { path: 'postgres.maxPreparedBytes', env: 'CUSTOS_POSTGRES_MAX_PREPARED_BYTES', type: 'number', default: '33554432' },
  { path: 'kubernetes.publicUrl', env: 'CUSTOS_KUBERNETES_PUBLIC_URL', type: 'string', default: 'https://<listen.kubernetes>' },
  { path: 'kubernetes.apiSessionIdle', env: 'CUSTOS_KUBERNETES_API_SESSION_IDLE', type: 'string', default: '10m' },
  { path: 'recordings.dir', env: 'CUSTOS_RECORDINGS_DIR', type: 'string', default: '<dataDir>/recordings' },
  { path: 'web.tls', env: 'CUSTOS_WEB_TLS', type: 'boolean', default: 'false' },
  { path: 'web.sessionIdleTimeout', env: 'CUSTOS_WEB_SESSION_IDLE_TIMEOUT', type: 'string', default: '30m' },
  { path: 'web.sessionMaxAge', env: 'CUSTOS_WEB_SESSION_MAX_AGE', type: 'string', default: '12h' },
  { path: 'admin.socket', env: 'CUSTOS_ADMIN_SOCKET', type: 'string', default: '<dataDir>/admin.sock' },
  { path: 'requests.expireAfter', env: 'CUSTOS_REQUESTS_EXPIRE_AFTER', type: 'string', default: '1h' },
  { path: 'notifications.webhook', env: 'CUSTOS_NOTIFICATIONS_WEBHOOK', type: 'string', default: 'none' },
  { path: 'log.level', env: 'CUSTOS_LOG_LEVEL', type: 'string', default: 'info' },
];

export const DEFAULT_SSH_NOTICE = 'custos: this session is recorded (session {sessionId})';

const memorySize = z.string().regex(MEMORY_SIZE, 'expected a size such as 16MB (units kB, MB, GB)');

const listenValue = z
  .string()
  .refine((text) => text === 'off' || isHostPort(text), { message: 'expected host:port or "off"' });

const fileSchema = z
  .object({
    dataDir: z.string().min(1),
    nodeName: z.string().min(1),
    store: z
      .object({
        url: z.string().regex(/^(pglite:\/\/|postgres(ql)?:\/\/)/, 'expected pglite://DIR or postgres://…'),
        pglite: z
          .object({
            sharedBuffers: memorySize,
            workMem: memorySize,
            maintenanceWorkMem: memorySize,
            optimizingCompiler: z.boolean(),
          })
          .partial()
          .strict(),
      })
      .partial()
      .strict(),
    listen: z
      .object({ ssh: listenValue, postgres: listenValue, kubernetes: listenValue, web: listenValue })
      .partial()
      .strict(),
    tls: z.object({ cert: z.string(), key: z.string(), ca: z.string() }).partial().strict(),
    ssh: z.object({ hostKey: z.string(), notice: z.string(), maxChannelsPerConnection: z.number().int().min(1) }).partial().strict(),
    shutdown: z.object({ grace: z.union([z.literal(0), z.string().refine((text) => text === '0' || isDuration(text), { message: 'expected a duration such as 30s (0 ends sessions at once)' })]) }).partial().strict(),
    postgres: z
      .object({
        allowPlaintext: z.boolean(),
        maxMessageBytes: z.number().int().min(1024),
        startupTimeoutMs: z.number().int().min(100),
        maxStartupConnections: z.number().int().min(1),
        maxPreparedStatements: z.number().int().min(1),
        maxPreparedBytes: z.number().int().min(1024),
      })
      .partial()
      .strict(),
    kubernetes: z
      .object({
        publicUrl: z.string().regex(/^https:\/\/[^/]+/, 'expected https://host[:port], as clients reach the Kubernetes listener'),
        apiSessionIdle: z.string().refine(isDuration, { message: 'expected a duration such as 10m' }),
      })
      .partial()
      .strict(),
    recordings: z.object({ dir: z.string() }).partial().strict(),
    web: z
      .object({
        tls: z.boolean(),
        sessionIdleTimeout: z.string().refine(isDuration, { message: 'expected a duration such as 30m' }),
        sessionMaxAge: z.string().refine(isDuration, { message: 'expected a duration such as 12h' }),
      })
      .partial()
      .strict(),
    admin: z.object({ socket: z.string() }).partial().strict(),
    requests: z.object({ expireAfter: z.string().refine(isDuration, { message: 'expected a duration such as 1h' }) }).partial().strict(),
    notifications: z
      .object({ webhook: z.string().refine((text) => /^https?:\/\/[^\s]+$/.test(text), { message: 'expected an http:// or https:// URL' }) })
      .partial()
      .strict(),
    log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error', 'silent']) }).partial().strict(),
  })
  .partial()
  .strict();

type FileConfig = z.infer<typeof fileSchema>;

export interface LoadConfigOptions {
  /** Explicit --config path; otherwise $CUSTOS_CONFIG, then ./custos.yaml, then defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values that win over everything (tests). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.CUSTOS_CONFIG;
  let source = 'built-in defaults';
  let raw: Record<string, unknown> = {};
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'custos.yaml');
  if (explicit || existsSync(path)) {
    if (!existsSync(path)) throw new ConfigError('config_missing', `config file ${path} does not exist`);
    try {
      raw = (parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new ConfigError('config_invalid', `config file ${path}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError('config_invalid', `config file ${path}: expected a mapping of settings`);
    }
    source = path;
  }
  const merged = mergeDeep(mergeDeep(raw, fromEnv(env)), options.overrides ?? {});
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.') || '(top level)';
    const detail = issue.code === 'unrecognized_keys' ? `unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new ConfigError('config_invalid', `${source}: ${key}: ${detail}`);
  }
  return withDefaults(parsed.data, source, cwd);
}

function withDefaults(file: FileConfig, source: string, cwd: string): GatewayConfig {
  const dataDir = resolve(cwd, file.dataDir ?? './custos-data');
  const inData = (name: string) => resolve(dataDir, name);
  const at = (value: string | undefined, fallback: string) => (value ? resolve(cwd, value) : fallback);
  const listen = (value: string | undefined, fallback: string) => {
    const chosen = value ?? fallback;
    return chosen === 'off' ? null : chosen;
  };
  const storeUrl = file.store?.url ?? `pglite://${inData('store')}`;
  if (file.store?.pglite && !storeUrl.startsWith('pglite://')) {
    throw new ConfigError('config_invalid', `${source}: store.pglite: applies to the embedded store only, and store.url is not pglite://`);
  }
  const tlsGiven = Boolean(file.tls?.cert || file.tls?.key);
  return {
    source,
    dataDir,
    nodeName: file.nodeName ?? hostname(),
    store: { url: storeUrl.startsWith('pglite://') ? withPgliteSettings(`pglite://${resolve(cwd, storeUrl.slice('pglite://'.length))}`, file.store?.pglite ?? {}) : storeUrl },
    listen: {
      ssh: listen(file.listen?.ssh, '127.0.0.1:2222'),
      postgres: listen(file.listen?.postgres, '127.0.0.1:6432'),
      kubernetes: listen(file.listen?.kubernetes, '127.0.0.1:8443'),
      web: listen(file.listen?.web, '127.0.0.1:8080'),
    },
    tls: {
      cert: at(file.tls?.cert, inData('tls/server.crt')),
      key: at(file.tls?.key, inData('tls/server.key')),
      ca: at(file.tls?.ca, inData('tls/ca.crt')),
      generated: !tlsGiven,
    },
    ssh: {
      hostKey: at(file.ssh?.hostKey, inData('ssh_host_ed25519_key')),
      notice: file.ssh?.notice ?? DEFAULT_SSH_NOTICE,
      maxChannelsPerConnection: file.ssh?.maxChannelsPerConnection ?? 10,
    },
    shutdown: { graceMs: graceMs(file.shutdown?.grace ?? '30s') },
    postgres: {
      allowPlaintext: file.postgres?.allowPlaintext ?? false,
      maxMessageBytes: file.postgres?.maxMessageBytes ?? 64 * 1024 * 1024,
      startupTimeoutMs: file.postgres?.startupTimeoutMs ?? 10_000,
      maxStartupConnections: file.postgres?.maxStartupConnections ?? 1000,
      maxPreparedStatements: file.postgres?.maxPreparedStatements ?? 10_000,
      maxPreparedBytes: file.postgres?.maxPreparedBytes ?? 32 * 1024 * 1024,
    },
    kubernetes: {
      publicUrl: file.kubernetes?.publicUrl?.replace(/\/+$/, '') ?? null,
      apiSessionIdleMs: parseDuration(file.kubernetes?.apiSessionIdle ?? '10m'),
    },
    recordings: { dir: at(file.recordings?.dir, inData('recordings')) },
    web: {
      tls: file.web?.tls ?? false,
      sessionIdleTimeout: file.web?.sessionIdleTimeout ?? '30m',
      sessionMaxAge: file.web?.sessionMaxAge ?? '12h',
    },
    admin: { socket: at(file.admin?.socket, inData('admin.sock')) },
    requests: { expireAfterMs: parseDuration(file.requests?.expireAfter ?? '1h') },
    notifications: { webhook: file.notifications?.webhook ?? null },
    log: { level: file.log?.level ?? 'info' },
  };
}

function graceMs(value: string | number): number {
  return value === 0 || value === '0' ? 0 : parseDuration(String(value));
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const text = env[key.env];
    if (text === undefined || text === '') continue;
    let value: unknown = text;
    if (key.type === 'boolean') {
      if (!/^(true|false|1|0|yes|no)$/i.test(text)) {
        throw new ConfigError('config_invalid', `${key.env}: expected true or false, got "${text}"`);
      }
      value = /^(true|1|yes)$/i.test(text);
    } else if (key.type === 'number') {
      value = Number(text);
      if (!Number.isFinite(value)) throw new ConfigError('config_invalid', `${key.env}: expected a number, got "${text}"`);
    }
    setPath(out, key.path, value);
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] =
      isPlainObject(existing) && isPlainObject(value) ? mergeDeep(existing, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHostPort(text: string): boolean {
  try {
    parseHostPort(text);
    return true;
  } catch {
    return false;
  }
}
