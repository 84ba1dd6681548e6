import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { connectDatabase } from '../../src/store/connect.js';
import { openStore, type Store } from '../../src/store/store.js';
import { startPostgres, type EphemeralPostgres } from './postgres.js';
import { copyStoreTemplate, ensureStoreTemplate } from './store-template.js';
import { makeTempDir } from './temp-dir.js';

/**
 * The two stores Custos runs on, behind one face, so store and audit tests run on both:
 * embedded PGlite (in its worker thread, as in the gateway) and a real PostgreSQL.
 */
export interface StoreBackend {
  kind: 'pglite' | 'postgres';
  url: string;
  store: Store;
  /** Another Store on the same database (PostgreSQL only: a second gateway process). */
  openAnother(): Promise<Store>;
  /** Runs raw SQL behind the store's back, as someone with database access could. */
  tamper(statement: string): Promise<void>;
  close(): Promise<void>;
}

export const BACKENDS = ['pglite', 'postgres'] as const;

export async function openBackend(kind: StoreBackend['kind']): Promise<StoreBackend> {
  return kind === 'pglite' ? openPglite() : openPostgres();
}

async function openPglite(): Promise<StoreBackend> {
  const temp = makeTempDir('cst-');
  const dir = join(temp.path, 'store');
  copyStoreTemplate(process.env.CUSTOS_TEST_STORE_TEMPLATE ?? (await ensureStoreTemplate()), dir);
  const url = `pglite://${dir}`;
  const backend: StoreBackend = {
    kind: 'pglite',
    url,
    store: await openStore(url),
    openAnother: () => Promise.reject(new Error('the embedded store admits one process')),
    tamper: async (statement) => {
      await backend.store.close();
      const database = await connectDatabase(url, { migrate: false });
      try {
        await database.db.execute(sql.raw(statement));
      } finally {
        await database.close();
      }
      backend.store = await openStore(url);
    },
    close: async () => {
      await backend.store.close();
      temp.remove();
    },
  };
  return backend;
}

let sharedPostgres: Promise<EphemeralPostgres> | null = null;
let databaseCounter = 0;

async function openPostgres(): Promise<StoreBackend> {
  sharedPostgres ??= startPostgres();
  const server = await sharedPostgres;
  const database = `custos_${process.pid}_${++databaseCounter}`;
  const admin = await server.admin();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = server.url(server.superuser, database);
  const others: Store[] = [];
  const backend: StoreBackend = {
    kind: 'postgres',
    url,
    store: await openStore(url),
    openAnother: async () => {
      const store = await openStore(url);
      others.push(store);
      return store;
    },
    tamper: async (statement) => {
      const client = await server.admin(database);
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await backend.store.close();
      for (const other of others) await other.close();
    },
  };
  return backend;
}

/** Stops the shared PostgreSQL of this test file (call in afterAll). */
export async function stopSharedPostgres(): Promise<void> {
  const server = await sharedPostgres;
  sharedPostgres = null;
  await server?.stop();
}
