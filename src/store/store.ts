import { connectDatabase, redactUrl, storeKindOf, type ConnectOptions } from './connect.js';
import { translateErrors } from './error-translation.js';
import { createRepositories } from './repositories/index.js';
import { measureHealth, type Store } from './store-api.js';
import { openWorkerStore } from './worker-store.js';

export type { Store, StoreHealth } from './store-api.js';

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
  const repositories = translateErrors(createRepositories(database.db, database.bulk));
  return {
    ...repositories,
    kind,
    location: redactUrl(url),
    health: () => measureHealth(kind, () => database.ping()),
    control: database.control,
    close: () => database.close(),
  };
}
