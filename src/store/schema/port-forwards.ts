import { bigint, bigserial, boolean, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Port forwards requested in a session, allowed or refused, with the bytes they carried. */
export const portForwards = pgTable(
  'port_forwards',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    channelId: integer('channel_id'),
    kind: text('kind').notNull(),
    destHost: text('dest_host').notNull(),
    destPort: integer('dest_port').notNull(),
    originAddr: text('origin_addr'),
    allowed: boolean('allowed').notNull(),
    reason: text('reason'),
    openedAt: timestamp('opened_at', { withTimezone: true, mode: 'date' }).notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true, mode: 'date' }),
    bytesIn: bigint('bytes_in', { mode: 'number' }).notNull(),
    bytesOut: bigint('bytes_out', { mode: 'number' }).notNull(),
  },
  (table) => [index('port_forwards_session_idx').on(table.sessionId)],
);
