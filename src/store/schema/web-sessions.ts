import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Signed-in viewer sessions. The cookie value is never stored: `secretHash` (sha256 of it)
 * finds the row, so a copy of the database does not let anyone sign in. `id` is the
 * non-secret name audit events use. A row is valid while now < idleExpiresAt, now <
 * expiresAt, it has not ended, and the token it was opened with is still live.
 */
export const webSessions = pgTable(
  'web_sessions',
  {
    id: text('id').primaryKey(),
    secretHash: text('secret_hash').notNull().unique(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    tokenId: text('token_id').notNull(),
    clientAddr: text('client_addr'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull(),
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    endReason: text('end_reason'),
  },
  (table) => [index('web_sessions_identity_idx').on(table.identityId), index('web_sessions_expires_idx').on(table.expiresAt)],
);
