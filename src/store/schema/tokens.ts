import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Identity tokens. The token itself is never stored: `tokenHash` (sha256) finds it when it
 * is presented whole (web sign-in, Kubernetes bearer), and the SCRAM-SHA-256 keys let the
 * PostgreSQL front end check it without ever seeing it.
 */
export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    identityId: text('identity_id').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    scramStoredKey: text('scram_stored_key').notNull(),
    scramServerKey: text('scram_server_key').notNull(),
    scramIterations: integer('scram_iterations').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdBy: text('created_by').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    revokedBy: text('revoked_by'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    /** A token minted under an approved request (a bot's): valid only while that request's grant lasts. */
    requestId: text('request_id'),
  },
  (table) => [index('tokens_identity_idx').on(table.identityId)],
);
