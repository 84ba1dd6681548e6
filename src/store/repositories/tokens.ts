import { and, desc, eq, gt, isNotNull, isNull, lte, or } from 'drizzle-orm';
import type { Db } from '../db.js';
import { StoreError } from '../errors.js';
import { identities, tokens } from '../schema/index.js';
import { appendEventsInTx, type AuditEventInput } from './audit.js';

export type TokenRow = typeof tokens.$inferSelect;
export type TokenListing = Omit<TokenRow, 'tokenHash' | 'scramStoredKey' | 'scramServerKey' | 'scramIterations'> & {
  identityName: string;
};

export function tokenRepository(db: Db) {
  return {
    async create(row: TokenRow, event: AuditEventInput): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(tokens).values(row);
        await appendEventsInTx(tx, [event]);
      });
    },

    async get(id: string): Promise<TokenListing | null> {
      const [row] = await db
        .select({ token: tokens, identityName: identities.name })
        .from(tokens)
        .innerJoin(identities, eq(identities.id, tokens.identityId))
        .where(eq(tokens.id, id));
      return row ? toListing(row.token, row.identityName) : null;
    },

    /** Revokes a live token and appends `event` (built by the caller from `get`) in one transaction. */
    async revoke(id: string, actor: string, event: AuditEventInput): Promise<TokenListing> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({ token: tokens, identityName: identities.name })
          .from(tokens)
          .innerJoin(identities, eq(identities.id, tokens.identityId))
          .where(eq(tokens.id, id))
          .for('update');
        if (!row) throw new StoreError('not_found', `no token with id ${id}`);
        if (row.token.revokedAt) {
          throw new StoreError('invalid', `token ${id} was already revoked at ${row.token.revokedAt.toISOString()}`);
        }
        const revokedAt = new Date();
        await tx.update(tokens).set({ revokedAt, revokedBy: actor }).where(eq(tokens.id, id));
        await appendEventsInTx(tx, [event]);
        return toListing({ ...row.token, revokedAt, revokedBy: actor }, row.identityName);
      });
    },

    async list(options: { identityName?: string; includeInactive?: boolean } = {}): Promise<TokenListing[]> {
      const now = new Date();
      const conditions = [];
      if (options.identityName) conditions.push(eq(identities.name, options.identityName));
      if (!options.includeInactive) {
        conditions.push(isNull(tokens.revokedAt));
        conditions.push(or(isNull(tokens.expiresAt), gt(tokens.expiresAt, now))!);
      }
      const rows = await db
        .select({ token: tokens, identityName: identities.name })
        .from(tokens)
        .innerJoin(identities, eq(identities.id, tokens.identityId))
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(tokens.createdAt));
      return rows.map((row) => toListing(row.token, row.identityName));
    },

    /** The token with this hash, whatever its state; callers check expiry and revocation. */
    async byHash(tokenHash: string): Promise<TokenRow | null> {
      const [row] = await db.select().from(tokens).where(eq(tokens.tokenHash, tokenHash));
      return row ?? null;
    },

    /** Tokens of an identity that are neither revoked nor expired (SCRAM candidates). */
    async activeForIdentity(identityId: string, now: Date = new Date()): Promise<TokenRow[]> {
      return db
        .select()
        .from(tokens)
        .where(
          and(
            eq(tokens.identityId, identityId),
            isNull(tokens.revokedAt),
            or(isNull(tokens.expiresAt), gt(tokens.expiresAt, now)),
          ),
        );
    },

    /** Tokens of an identity that are revoked or expired: only to say why an old token failed. */
    async inactiveForIdentity(identityId: string, now: Date = new Date()): Promise<TokenRow[]> {
      return db
        .select()
        .from(tokens)
        .where(and(eq(tokens.identityId, identityId), or(isNotNull(tokens.revokedAt), lte(tokens.expiresAt, now))))
        .orderBy(desc(tokens.createdAt))
        .limit(100);
    },

    async touch(id: string, at: Date = new Date()): Promise<void> {
      await db.update(tokens).set({ lastUsedAt: at }).where(eq(tokens.id, id));
    },
  };
}

function toListing(token: TokenRow, identityName: string): TokenListing {
  const { tokenHash: _hash, scramStoredKey: _stored, scramServerKey: _server, scramIterations: _iterations, ...rest } = token;
  return { ...rest, identityName };
}
