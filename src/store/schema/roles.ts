import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Declared roles (`kind: role`): which targets, as which logins / db users / kube groups. */
export const roles = pgTable('roles', {
  name: text('name').primaryKey(),
  spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
