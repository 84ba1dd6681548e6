import { parentPort, workerData } from 'node:worker_threads';
import { connectDatabase } from './connect.js';
import { createRepositories } from './repositories/index.js';
import { toStoreError, translateErrors } from './error-translation.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/**
 * Entry point of the embedded store's worker thread: opens PGlite here, off the gateway's
 * event loop, and serves repository calls by message.
 */
const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker) => port.postMessage(message);

try {
  const database = await connectDatabase(init.url, init.options);
  const repositories = translateErrors(createRepositories(database.db, database.bulk)) as unknown as Record<
    string,
    Record<string, (...args: unknown[]) => Promise<unknown>>
  >;
  let unsubscribe: (() => Promise<void>) | null = null;
  port.on('message', async (message: ToWorker) => {
    try {
      if (message.type === 'subscribe') {
        unsubscribe ??= await database.control.subscribe((notice) => send({ type: 'notice', notice }));
        send({ type: 'result', id: message.id, value: null });
        return;
      }
      if (message.type === 'unsubscribe') {
        const stop = unsubscribe;
        unsubscribe = null;
        await stop?.();
        send({ type: 'result', id: message.id, value: null });
        return;
      }
      if (message.type === 'call') {
        const [name, method] = message.method.split('.') as [string, string];
        const fn = repositories[name]?.[method];
        if (!fn) throw new Error(`unknown store method ${message.method}`);
        send({ type: 'result', id: message.id, value: await fn(...message.args) });
      } else if (message.type === 'ping') {
        await database.ping();
        send({ type: 'result', id: message.id, value: null });
      } else if (message.type === 'close') {
        await database.close();
        send({ type: 'result', id: message.id, value: null });
        port.close();
      }
    } catch (err) {
      const error = toStoreError(err);
      send({ type: 'error', id: message.id, error: { code: error.code, message: error.message } });
    }
  });
  send({ type: 'ready' });
} catch (err) {
  const error = toStoreError(err);
  send({ type: 'failed', error: { code: error.code, message: error.message } });
}
