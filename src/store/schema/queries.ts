import type { CapturedParam } from '../../core/captured-param.js';
import { bigint, bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export type { CapturedParam };

/** Every statement captured at the PostgreSQL front end, with parameters and outcome. */
export const queries = pgTable(
  'queries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    seq: integer('seq').notNull(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    target: text('target').notNull(),
    database: text('database').notNull(),
    dbUser: text('db_user').notNull(),
    protocol: text('protocol').$type<'simple' | 'extended' | 'function'>().notNull(),
    statement: text('statement').notNull(),
    params: jsonb('params').$type<CapturedParam[]>(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    durationMs: doublePrecision('duration_ms'),
    commandTag: text('command_tag'),
    rowCount: bigint('row_count', { mode: 'number' }),
    status: text('status').$type<'ok' | 'error' | 'skipped' | 'cancelled' | 'unfinished'>().notNull(),
    sqlstate: text('sqlstate'),
    errorMessage: text('error_message'),
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  // Every index is paid for by the insert of every captured statement (the query log's hot
  // path): per identity and per session as btrees, time as a BRIN (rows arrive in time
  // order), and target filters ride on the time range.
  (table) => [
    index('queries_identity_idx').on(table.identityName, table.startedAt),
    index('queries_session_idx').on(table.sessionId, table.seq),
    index('queries_started_brin').using('brin', table.startedAt),
    // The viewer's "own queries" scope, newest first by id.
    index('queries_identity_id_idx').on(table.identityId, table.id),
  ],
);
