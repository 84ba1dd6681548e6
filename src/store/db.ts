import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema/index.js';

/** A drizzle database over either driver (PGlite or node-postgres), with our schema. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What repositories receive inside `db.transaction(...)`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A repository works on the database or inside a caller's transaction alike. */
export type DbOrTx = Db | Tx;
