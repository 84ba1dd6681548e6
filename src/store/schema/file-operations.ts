import { bigint, bigserial, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** File operations seen in SFTP and scp channels: what was opened, read, written, removed. */
export const fileOperations = pgTable(
  'file_operations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    channelId: integer('channel_id'),
    time: timestamp('time', { withTimezone: true, mode: 'date' }).notNull(),
    operation: text('operation').notNull(),
    path: text('path').notNull(),
    targetPath: text('target_path'),
    bytes: bigint('bytes', { mode: 'number' }),
    result: text('result').$type<'ok' | 'error'>().notNull(),
    error: text('error'),
  },
  (table) => [index('file_operations_session_idx').on(table.sessionId, table.time)],
);
