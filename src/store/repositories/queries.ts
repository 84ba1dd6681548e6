import { and, asc, eq, getTableColumns, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db.js';
import type { BulkCopy } from '../bulk-copy.js';
import { QUERY_COPY_COLUMNS, queryCopyLine } from '../query-copy-lines.js';
import { queries, sessions } from '../schema/index.js';

export type QueryRow = typeof queries.$inferSelect;
export type NewQueryRow = Omit<QueryRow, 'id'>;
/** A statement with the approval ticket of its session (the export's `ticket` column). */
export type QueryListing = QueryRow & { ticket: string | null };

/** The statement's columns and its session's ticket (sessions are looked up by primary key). */
export const LISTING_COLUMNS = { ...getTableColumns(queries), ticket: sessions.ticket };

export interface QueryFilter {
  identity?: string;
  /** Statements starting with this text. */
  statementPrefix?: string;
  sessionId?: string;
  target?: string;
  since?: Date;
  until?: Date;
  /** Keyset pagination over the id column. */
  afterId?: number;
  limit?: number;
}

export function queryRepository(db: Db, bulk: BulkCopy) {
  return {
    /**
     * The query log's batches: new rows in COPY text format (query-copy-lines.ts), sent with
     * COPY whatever the batch size, and the outcomes of rows first written while still running
     * as a JSON array of completion lines (query-lines.ts) — both in one transaction, so a
     * retried batch never inserts a row twice.
     */
    async writeBatch(inserts: string | null, completions: string | null): Promise<void> {
      if (!completions) {
        if (inserts) await bulk.copyIn(COPY_TARGET, inserts);
        return;
      }
      if (!inserts) {
        const [head, tail] = COMPLETE_SQL.split('$1') as [string, string];
        await db.execute(sql`${sql.raw(head)}${completions}${sql.raw(tail)}`);
        return;
      }
      await bulk.copyIn(COPY_TARGET, inserts, { text: COMPLETE_SQL, params: [completions] });
    },

    /** Inserts rows given as objects (tools and tests; capture uses writeBatch). */
    async insert(rows: NewQueryRow[]): Promise<void> {
      for (let i = 0; i < rows.length; i += 5000) {
        await bulk.copyIn(COPY_TARGET, rows.slice(i, i + 5000).map((row) => queryCopyLine(row)).join(''));
      }
    },

    async list(filter: QueryFilter = {}): Promise<QueryListing[]> {
      return db
        .select(LISTING_COLUMNS)
        .from(queries)
        .leftJoin(sessions, eq(sessions.id, queries.sessionId))
        .where(whereOf(filter))
        .orderBy(asc(queries.id))
        .limit(Math.min(filter.limit ?? 1000, 10_000));
    },

    /** How many statements match, by status. */
    async count(filter: QueryFilter = {}): Promise<Record<string, number>> {
      const rows = await db
        .select({ status: queries.status, count: sql<number>`count(*)::int` })
        .from(queries)
        .where(whereOf(filter))
        .groupBy(queries.status);
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
    },

    /** One session's statements in capture order, a page at a time (for digest checks). */
    async bySession(sessionId: string, afterSeq: number, limit: number): Promise<QueryRow[]> {
      return db
        .select()
        .from(queries)
        .where(and(eq(queries.sessionId, sessionId), gt(queries.seq, afterSeq)))
        .orderBy(asc(queries.seq))
        .limit(Math.min(limit, 10_000));
    },
  };
}

const COPY_TARGET = `queries (${QUERY_COPY_COLUMNS})`;

/** Completion lines: [session_id, seq, duration_ms, command_tag, row_count, status, sqlstate, error_message, details]. */
const COMPLETE_SQL = `
  update queries q set duration_ms = (e->>2)::float8, command_tag = e->>3, row_count = (e->>4)::bigint,
    status = e->>5, sqlstate = e->>6, error_message = e->>7, details = nullif(e->8, 'null'::jsonb)
  from jsonb_array_elements($1::jsonb) as e
  where q.session_id = e->>0 and q.seq = (e->>1)::integer`;

function whereOf(filter: QueryFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.identity) conditions.push(eq(queries.identityName, filter.identity));
  if (filter.sessionId) conditions.push(eq(queries.sessionId, filter.sessionId));
  if (filter.target) conditions.push(eq(queries.target, filter.target));
  if (filter.since) conditions.push(gte(queries.startedAt, filter.since));
  if (filter.until) conditions.push(lte(queries.startedAt, filter.until));
  if (filter.afterId !== undefined) conditions.push(gt(queries.id, filter.afterId));
  if (filter.statementPrefix) conditions.push(sql`starts_with(${queries.statement}, ${filter.statementPrefix})`);
  return conditions.length ? and(...conditions) : undefined;
}
