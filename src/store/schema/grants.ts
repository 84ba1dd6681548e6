import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * What an approved request gives: one principal on one target, through one role, from
 * `startsAt` until `endsAt`. Sessions opened under it carry its id, the request id and the
 * ticket. A grant ends once (`state` ended): at `endsAt` (expired) or when revoked; the gateway
 * that claims the end (a conditional update) writes the `grant.end` event.
 */
export const grants = pgTable(
  'grants',
  {
    id: text('id').primaryKey(),
    requestId: text('request_id').notNull().unique(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    target: text('target').notNull(),
    login: text('login'),
    dbUser: text('db_user'),
    kubeGroup: text('kube_group'),
    role: text('role').notNull(),
    ticket: text('ticket'),
    approvers: jsonb('approvers').$type<string[]>().notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }).notNull(),
    state: text('state').$type<'active' | 'ended'>().notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    endKind: text('end_kind').$type<'expired' | 'revoked'>(),
    endedBy: text('ended_by'),
    endReason: text('end_reason'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [index('grants_identity_idx').on(table.identityId, table.state), index('grants_state_idx').on(table.state, table.endsAt)],
);
