import { and, asc, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db.js';
import { queries } from '../schema/index.js';

export type QueryRow = typeof queries.$inferSelect;
export type NewQueryRow = Omit<QueryRow, 'id'>;

/** The outcome of a statement first written as `unfinished`, keyed by session and seq. */
export type QueryCompletion = Pick<
  QueryRow,
  'sessionId' | 'seq' | 'durationMs' | 'commandTag' | 'rowCount' | 'status' | 'sqlstate' | 'errorMessage' | 'details'
>;

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

/** Rows per statement: JSON keeps one bind parameter per batch whatever its size. */
const BATCH_ROWS = 5000;

export function queryRepository(db: Db) {
  return {
    /**
     * Inserts captured statements, a batch per statement: the rows travel as one JSON
     * parameter expanded by jsonb_to_recordset, far cheaper than thousands of bind
     * parameters on the hot path of the query log.
     */
    async insert(rows: NewQueryRow[]): Promise<void> {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        const json = JSON.stringify(rows.slice(i, i + BATCH_ROWS).map(toJsonRow));
        await db.execute(sql`
          insert into queries (session_id, seq, identity_id, identity_name, target, database, db_user, protocol, statement,
            params, started_at, duration_ms, command_tag, row_count, status, sqlstate, error_message, details)
          select session_id, seq, identity_id, identity_name, target, database, db_user, protocol, statement,
            params, started_at, duration_ms, command_tag, row_count, status, sqlstate, error_message, details
          from jsonb_to_recordset(${json}::jsonb) as x(session_id text, seq integer, identity_id text, identity_name text,
            target text, database text, db_user text, protocol text, statement text, params jsonb, started_at timestamptz,
            duration_ms double precision, command_tag text, row_count bigint, status text, sqlstate text,
            error_message text, details jsonb)`);
      }
    },

    /** Writes the outcome of statements that were first recorded while still running. */
    async complete(completions: QueryCompletion[]): Promise<void> {
      for (let i = 0; i < completions.length; i += BATCH_ROWS) {
        const json = JSON.stringify(
          completions.slice(i, i + BATCH_ROWS).map((c) => ({
            session_id: c.sessionId,
            seq: c.seq,
            duration_ms: c.durationMs,
            command_tag: c.commandTag,
            row_count: c.rowCount,
            status: c.status,
            sqlstate: c.sqlstate,
            error_message: c.errorMessage,
            details: c.details,
          })),
        );
        await db.execute(sql`
          update queries q set duration_ms = x.duration_ms, command_tag = x.command_tag, row_count = x.row_count,
            status = x.status, sqlstate = x.sqlstate, error_message = x.error_message, details = x.details
          from jsonb_to_recordset(${json}::jsonb) as x(session_id text, seq integer, duration_ms double precision,
            command_tag text, row_count bigint, status text, sqlstate text, error_message text, details jsonb)
          where q.session_id = x.session_id and q.seq = x.seq`);
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

function toJsonRow(row: NewQueryRow): Record<string, unknown> {
  return {
    session_id: row.sessionId,
    seq: row.seq,
    identity_id: row.identityId,
    identity_name: row.identityName,
    target: row.target,
    database: row.database,
    db_user: row.dbUser,
    protocol: row.protocol,
    statement: row.statement,
    params: row.params,
    started_at: row.startedAt,
    duration_ms: row.durationMs,
    command_tag: row.commandTag,
    row_count: row.rowCount,
    status: row.status,
    sqlstate: row.sqlstate,
    error_message: row.errorMessage,
    details: row.details,
  };
}
