import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

/** Store-wide counters, e.g. `resources_revision`, bumped by every resource change. */
export const storeMeta = pgTable('store_meta', {
  key: text('key').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});
