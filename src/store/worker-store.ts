import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { ControlChannel, ControlNotice } from '../core/control-notice.js';
import { startModuleWorker } from '../core/worker-thread.js';
import { parseLocation, redactUrl, type ConnectOptions } from './connect.js';
import { StoreError } from './errors.js';
import { initialiseInChildProcess } from './initialise-process.js';
import { REPOSITORY_NAMES, type Repositories } from './repositories/index.js';
import { measureHealth, type Store } from './store-api.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

type ToWorkerBody = ToWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The Store seen from the gateway thread when the database lives in a worker thread.
 * If the worker dies, every pending and later call fails with `unavailable`: callers fail
 * closed rather than carry on without a store.
 */
export async function openWorkerStore(url: string, options: ConnectOptions): Promise<Store> {
  if (options.migrate !== false && !isInitialised(url)) await initialiseInChildProcess(url, options);
  const worker = startWorker({ url, options });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let dead: StoreError | null = null;

  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type === 'ready') {
        worker.off('message', onMessage);
        resolve();
      } else if (message.type === 'failed') {
        worker.off('message', onMessage);
        void worker.terminate();
        reject(new StoreError(message.error.code, message.error.message));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => reject(new StoreError('unavailable', `the store worker failed: ${err.message}`)));
    worker.once('exit', (code) => reject(new StoreError('unavailable', `the store worker exited (${code}) before it was ready`)));
  });

  const noticeListeners = new Set<(notice: ControlNotice) => void>();
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'notice') {
      for (const listener of noticeListeners) listener(message.notice);
      return;
    }
    if (message.type !== 'result' && message.type !== 'error') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.type === 'result') waiter.resolve(message.value);
    else waiter.reject(new StoreError(message.error.code, message.error.message));
  });
  const die = (reason: string) => {
    dead ??= new StoreError('unavailable', reason);
    for (const waiter of pending.values()) waiter.reject(dead);
    pending.clear();
  };
  worker.on('error', (err) => die(`the store worker failed: ${err.message}`));
  worker.on('exit', (code) => die(`the store worker exited (${code})`));

  const request = (message: ToWorkerBody): Promise<unknown> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id } as ToWorker);
    });
  };

  const repositories: Record<string, unknown> = {};
  for (const name of REPOSITORY_NAMES) {
    repositories[name] = new Proxy(
      {},
      {
        get: (_target, method) =>
          typeof method === 'string' && method !== 'then'
            ? (...args: unknown[]) => request({ type: 'call', method: `${name}.${method}`, args })
            : undefined,
      },
    );
  }

  const control: ControlChannel = {
    async subscribe(listener) {
      if (noticeListeners.size === 0) await request({ type: 'subscribe' });
      noticeListeners.add(listener);
      return async () => {
        if (!noticeListeners.delete(listener) || noticeListeners.size > 0 || dead) return;
        await request({ type: 'unsubscribe' }).catch(() => undefined);
      };
    },
  };

  let closing: Promise<void> | null = null;
  return {
    ...(repositories as unknown as Repositories),
    kind: 'pglite',
    location: redactUrl(url),
    health: () => measureHealth('pglite', async () => void (await request({ type: 'ping' }))),
    control,
    close: () =>
      (closing ??= (async () => {
        if (!dead) await request({ type: 'close' }).catch(() => undefined);
        await worker.terminate();
      })()),
  };
}

function isInitialised(url: string): boolean {
  return existsSync(join(parseLocation(url.slice('pglite://'.length)).dataDir, 'PG_VERSION'));
}

// The worker's own V8 heap: it holds messages in flight and query results, never much at
// once. V8's default young generation (up to 3 × 16 MiB) would sit mostly empty.
const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 8 };

function startWorker(init: WorkerInit): Worker {
  return startModuleWorker(new URL('./worker-host.js', import.meta.url), init, { resourceLimits: WORKER_RESOURCE_LIMITS });
}
