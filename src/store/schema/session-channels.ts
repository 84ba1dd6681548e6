import { bigint, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Channels of a session (SSH shell / exec / subsystem, Kubernetes exec), each with its recording. */
export const sessionChannels = pgTable(
  'session_channels',
  {
    sessionId: text('session_id').notNull(),
    channelId: integer('channel_id').notNull(),
    kind: text('kind').notNull(),
    command: text('command'),
    pty: jsonb('pty').$type<{ term: string; cols: number; rows: number } | null>(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    exitCode: integer('exit_code'),
    exitSignal: text('exit_signal'),
    recordingPath: text('recording_path'),
    recordingBytes: bigint('recording_bytes', { mode: 'number' }),
    recordingSha256: text('recording_sha256'),
  },
  (table) => [primaryKey({ columns: [table.sessionId, table.channelId] })],
);
