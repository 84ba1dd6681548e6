import { connectDatabase, redactUrl, storeKindOf, type ConnectOptions, type StoreKind } from './connect.js';
import { StoreError } from './errors.js';
import { createRepositories, REPOSITORY_NAMES, type Repositories } from './repositories/index.js';
import { openWorkerStore } from './worker-store.js';

export interface StoreHealth {
  ok: boolean;
  kind: StoreKind;
  latencyMs: number;
  error?: string;
}

/** The repositories plus lifecycle. Every method may throw StoreError and nothing else. */
export interface Store extends Repositories {
  readonly kind: StoreKind;
  /** The store URL with any password masked. */
  readonly location: string;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

export interface OpenStoreOptions extends ConnectOptions {
  /**
   * Host the embedded store in a worker thread (default for pglite://): PGlite is
   * WebAssembly that runs on the thread calling it, and must not stall the proxies.
   */
  worker?: boolean;
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const kind = storeKindOf(url);
  if (kind === 'pglite' && options.worker !== false) return openWorkerStore(url, options);
  const database = await connectDatabase(url, options);
  const repositories = translateErrors(createRepositories(database.db));
  return {
    ...repositories,
    kind,
    location: redactUrl(url),
    health: () => measureHealth(kind, () => database.ping()),
    close: () => database.close(),
  };
}

export async function measureHealth(kind: StoreKind, ping: () => Promise<void>): Promise<StoreHealth> {
  const started = performance.now();
  try {
    await ping();
    return { ok: true, kind, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    return { ok: false, kind, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

/** Wraps every repository method so that what escapes is a StoreError with a code. */
export function translateErrors(repositories: Repositories): Repositories {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of REPOSITORY_NAMES) {
    const repository = repositories[name] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const wrapped: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(repository)) {
      wrapped[method] = async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toStoreError(err);
        }
      };
    }
    out[name] = wrapped;
  }
  return out as unknown as Repositories;
}

export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const pgCode = (err as { code?: unknown; cause?: { code?: unknown } }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  const message = (err as { cause?: Error }).cause?.message ?? (err as Error).message ?? String(err);
  if (typeof pgCode === 'string' && /^(22|23)/.test(pgCode)) return new StoreError('invalid', message, { cause: err });
  if (typeof pgCode === 'string' && /^(08|57P)/.test(pgCode)) return new StoreError('unavailable', message, { cause: err });
  if (typeof pgCode === 'string' && pgCode === '40001') return new StoreError('conflict', message, { cause: err });
  return new StoreError('internal', message, { cause: err });
}
