import { index, pgTable, text } from 'drizzle-orm/pg-core';

/** OpenSSH public keys of identities, looked up by SHA256 fingerprint at authentication. */
export const identitySshKeys = pgTable(
  'identity_ssh_keys',
  {
    fingerprint: text('fingerprint').primaryKey(),
    identityId: text('identity_id').notNull(),
    algorithm: text('algorithm').notNull(),
    publicKey: text('public_key').notNull(),
    comment: text('comment'),
  },
  (table) => [index('identity_ssh_keys_identity_idx').on(table.identityId)],
);
