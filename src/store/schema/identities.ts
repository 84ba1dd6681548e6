import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Declared identities (`kind: identity`), human or bot. `scramSalt` is shared by all of the
 * identity's tokens: a SCRAM server must send the salt before it knows which token the
 * client holds, so every token verifier of one identity is derived with the same salt.
 */
export const identities = pgTable('identities', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  kind: text('kind').$type<'human' | 'bot'>().notNull(),
  owner: text('owner'),
  roles: jsonb('roles').$type<string[]>().notNull(),
  spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
  scramSalt: text('scram_salt').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
