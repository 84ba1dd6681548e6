import { mkdir } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import type { PGlite } from '@electric-sql/pglite';
import type { Db } from './db.js';
import { StoreError } from './errors.js';
import { acquireDirLock } from './dir-lock.js';
import { MIGRATIONS_FOLDER } from './migrations-folder.js';
import { parsePgliteLocation } from '../core/pglite-settings.js';
import { pgliteMemoryParams, v8WasmFlags } from './pglite-options.js';
import * as schema from './schema/index.js';
import type { ControlChannel } from '../core/control-notice.js';
import { pgliteControlChannel, postgresControlChannel } from './control-listener.js';
import { pgliteBulkCopy, postgresBulkCopy, type BulkCopy } from './bulk-copy.js';

export type StoreKind = 'pglite' | 'postgres';

export interface Database {
  kind: StoreKind;
  db: Db;
  /** COPY FROM STDIN on this driver (the query log's batches). */
  bulk: BulkCopy;
  /** Runs one SQL statement outside drizzle (health checks, tests). */
  ping(): Promise<void>;
  /** Control notices (LISTEN custos_control). */
  control: ControlChannel;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Apply migrations (default true). */
  migrate?: boolean;
}

// Any constant works; it only has to be the same in every gateway process.
const MIGRATION_LOCK_KEY = 0x637573746f;

export function storeKindOf(url: string): StoreKind {
  if (url.startsWith('pglite://')) return 'pglite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  throw new StoreError('invalid', `store url must start with pglite:// or postgres://, got "${url}"`);
}

export async function connectDatabase(url: string, options: ConnectOptions = {}): Promise<Database> {
  return storeKindOf(url) === 'pglite' ? connectPglite(url.slice('pglite://'.length), options) : connectPostgres(url, options);
}

async function connectPglite(location: string, options: ConnectOptions): Promise<Database> {
  const { dataDir, settings } = parseLocation(location);
  // Each driver loads only where it is used: the embedded store's worker thread never needs
  // node-postgres, a gateway on PostgreSQL never needs PGlite.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireDirLock(dataDir);
  let client: PGlite;
  try {
    setFlagsFromString(v8WasmFlags(settings));
    client = await PGlite.create({ dataDir, startParams: [...PGlite.defaultStartParams, ...pgliteMemoryParams(settings)] });
  } catch (err) {
    await lock.release();
    throw new StoreError('unavailable', `cannot open the embedded store in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  if (options.migrate !== false) {
    try {
      await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (err) {
      await client.close();
      await lock.release();
      throw new StoreError('unavailable', `cannot migrate the embedded store: ${(err as Error).message}`, { cause: err });
    }
  }
  return {
    kind: 'pglite',
    db,
    bulk: pgliteBulkCopy(client),
    ping: async () => {
      await client.query('select 1');
    },
    control: pgliteControlChannel(client),
    close: async () => {
      await client.close();
      await lock.release();
    },
  };
}

/** The directory and memory settings of a `pglite://DIR?…` location (the part after the scheme). */
export function parseLocation(location: string): ReturnType<typeof parsePgliteLocation> {
  try {
    return parsePgliteLocation(location);
  } catch (err) {
    throw new StoreError('invalid', (err as Error).message);
  }
}

async function connectPostgres(url: string, options: ConnectOptions): Promise<Database> {
  if (options.migrate !== false) await migratePostgres(url);
  const [{ default: pg }, { drizzle: drizzlePg }] = await Promise.all([import('pg'), import('drizzle-orm/node-postgres')]);
  const pool = new pg.Pool({ connectionString: url, max: 10, application_name: 'custos' });
  pool.on('error', () => {
    // An idle client died (server restart); the pool replaces it on next use.
  });
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end();
    throw new StoreError('unavailable', `cannot reach the store at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  const db = drizzlePg({ client: pool, schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    bulk: postgresBulkCopy(pool),
    ping: async () => {
      await pool.query('select 1');
    },
    control: postgresControlChannel(url),
    close: () => pool.end(),
  };
}

/** Migrations under a session advisory lock, so gateways sharing a store migrate once. */
async function migratePostgres(url: string): Promise<void> {
  const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const client = new pg.Client({ connectionString: url, application_name: 'custos-migrate' });
  try {
    await client.connect();
  } catch (err) {
    throw new StoreError('unavailable', `cannot reach the store at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migratePg(drizzlePg({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (err) {
    throw new StoreError('unavailable', `cannot migrate the store: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A store URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
