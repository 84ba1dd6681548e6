import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { JsonObject } from '../../core/canonical-json.js';

/**
 * The append-only, hash-chained audit log. `seq` is assigned under an advisory lock as the
 * previous head + 1 (not a sequence, whose gaps after rollbacks would look like deletions).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    time: timestamp('time', { withTimezone: true, mode: 'date' }).notNull(),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    identity: text('identity'),
    sessionId: text('session_id'),
    target: text('target'),
    data: jsonb('data').$type<JsonObject>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (table) => [
    index('audit_events_time_idx').on(table.time),
    index('audit_events_identity_idx').on(table.identity, table.time),
    index('audit_events_type_idx').on(table.type, table.time),
    index('audit_events_session_idx').on(table.sessionId),
  ],
);
