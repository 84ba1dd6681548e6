import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per access session (an SSH connection, a PostgreSQL connection, a Kubernetes
 * exec/attach or request stream), carrying the evidence tags copied at session start so a
 * later change to the identity or target does not rewrite history.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    protocol: text('protocol').$type<'ssh' | 'postgres' | 'kubernetes'>().notNull(),
    state: text('state').$type<'live' | 'closed' | 'interrupted'>().notNull(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    identityKind: text('identity_kind').$type<'human' | 'bot'>().notNull(),
    identityOwner: text('identity_owner'),
    credentialId: text('credential_id').notNull(),
    target: text('target').notNull(),
    targetAddress: text('target_address').notNull(),
    login: text('login'),
    database: text('database'),
    clientAddr: text('client_addr'),
    node: text('node').notNull(),
    grantId: text('grant_id'),
    /** The approved access request the session runs under (with `grantId` and `ticket`). */
    requestId: text('request_id'),
    ticket: text('ticket'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    endReason: text('end_reason'),
    recordingPath: text('recording_path'),
    recordingBytes: bigint('recording_bytes', { mode: 'number' }),
    recordingSha256: text('recording_sha256'),
    stats: jsonb('stats').$type<Record<string, unknown>>().notNull(),
    /**
     * Protocol-specific evidence tags fixed at session start (e.g. the PostgreSQL startup
     * parameters forwarded upstream; a Kubernetes exec's namespace, pod and container).
     */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    /** Last time bytes or statements passed; refreshed while the session is live. */
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    index('sessions_started_idx').on(table.startedAt),
    index('sessions_identity_idx').on(table.identityName, table.startedAt),
    index('sessions_target_idx').on(table.target, table.startedAt),
    index('sessions_state_idx').on(table.state),
    // The viewer's "own sessions" scope and ticket filter.
    index('sessions_identity_id_idx').on(table.identityId, table.startedAt),
    index('sessions_ticket_idx').on(table.ticket),
    // A request's page lists the sessions opened under it.
    index('sessions_request_idx').on(table.requestId),
  ],
);
