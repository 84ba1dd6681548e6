import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * PostgreSQL cancel routing: the backend key a client got from the gateway, mapped to the
 * upstream backend's real key. In the store so any gateway process sharing it can route a
 * CancelRequest that lands on it. Rows live only as long as their session.
 */
export const cancelKeys = pgTable(
  'cancel_keys',
  {
    processId: integer('process_id').primaryKey(),
    secretKey: text('secret_key').notNull(),
    sessionId: text('session_id').notNull(),
    node: text('node').notNull(),
    upstreamAddress: text('upstream_address').notNull(),
    upstreamProcessId: integer('upstream_process_id').notNull(),
    upstreamSecretKey: text('upstream_secret_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [index('cancel_keys_session_idx').on(table.sessionId)],
);
