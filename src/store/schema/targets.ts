import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Declared targets (`kind: target`). Credentials are `env:`/`file:` references, never values. */
export const targets = pgTable('targets', {
  name: text('name').primaryKey(),
  protocol: text('protocol').notNull(),
  address: text('address').notNull(),
  labels: jsonb('labels').$type<Record<string, string>>().notNull(),
  spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
