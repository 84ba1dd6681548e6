import { and, asc, eq, gt, gte, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../db.js';
import { queries } from '../schema/index.js';

export type QueryRow = typeof queries.$inferSelect;
export type NewQueryRow = Omit<QueryRow, 'id'>;

export interface QueryFilter {
  identity?: string;
  sessionId?: string;
  target?: string;
  since?: Date;
  until?: Date;
  /** Keyset pagination over the id column. */
  afterId?: number;
  limit?: number;
}

export function queryRepository(db: Db) {
  return {
    /** One multi-row insert per call: the query log writes captured statements in batches. */
    async insert(rows: NewQueryRow[]): Promise<void> {
      for (let i = 0; i < rows.length; i += 1000) {
        await db.insert(queries).values(rows.slice(i, i + 1000));
      }
    },

    async list(filter: QueryFilter = {}): Promise<QueryRow[]> {
      const conditions: SQL[] = [];
      if (filter.identity) conditions.push(eq(queries.identityName, filter.identity));
      if (filter.sessionId) conditions.push(eq(queries.sessionId, filter.sessionId));
      if (filter.target) conditions.push(eq(queries.target, filter.target));
      if (filter.since) conditions.push(gte(queries.startedAt, filter.since));
      if (filter.until) conditions.push(lte(queries.startedAt, filter.until));
      if (filter.afterId !== undefined) conditions.push(gt(queries.id, filter.afterId));
      return db
        .select()
        .from(queries)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(asc(queries.id))
        .limit(Math.min(filter.limit ?? 1000, 10_000));
    },
  };
}
