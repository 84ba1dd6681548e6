import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Just-in-time access requests: an identity asks for one principal (SSH login, database
 * user or Kubernetes group) on one target, for a while, under a role that requires approval.
 * The approval policy (approvers, how many) is copied from the role when the request is made,
 * so what was asked and what was required stays as it was. `requestedBy` is whoever asked:
 * the identity itself, or the human owner asking for a bot (`identityKind` = bot).
 */
export const accessRequests = pgTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    identityKind: text('identity_kind').$type<'human' | 'bot'>().notNull(),
    identityOwner: text('identity_owner'),
    requestedBy: text('requested_by').notNull(),
    target: text('target').notNull(),
    protocol: text('protocol').$type<'ssh' | 'postgres' | 'kubernetes'>().notNull(),
    login: text('login'),
    dbUser: text('db_user'),
    kubeGroup: text('kube_group'),
    role: text('role').notNull(),
    reason: text('reason').notNull(),
    ticket: text('ticket'),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
    /** When the access should start (null: as soon as it is approved). */
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }),
    approvalsRequired: integer('approvals_required').notNull(),
    approverRoles: jsonb('approver_roles').$type<string[]>().notNull(),
    state: text('state').$type<'pending' | 'approved' | 'denied' | 'expired' | 'revoked'>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** A pending request expires unanswered at this time. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    approvedAt: timestamp('approved_at', { withTimezone: true, mode: 'date' }),
    /** Denied, revoked or expired: when, by whom, why. */
    closedAt: timestamp('closed_at', { withTimezone: true, mode: 'date' }),
    closedBy: text('closed_by'),
    closeReason: text('close_reason'),
  },
  (table) => [
    index('access_requests_state_idx').on(table.state, table.expiresAt),
    index('access_requests_identity_idx').on(table.identityId, table.createdAt),
    index('access_requests_created_idx').on(table.createdAt),
  ],
);
