import { createHash, randomBytes } from 'node:crypto';
import { formatDuration } from '../core/duration.js';
import { SCRAM_ITERATIONS, scramKeys } from '../core/scram.js';
import type { Store } from '../store/store.js';
import type { TokenListing } from '../store/repositories/tokens.js';
import { PolicyError } from './errors.js';
import { newId } from './ids.js';

/** Tokens look like `cus_<43 base64url characters>`: 256 random bits. */
export const TOKEN_PREFIX = 'cus_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface CreatedToken {
  id: string;
  /** Shown once, never stored. */
  token: string;
  identity: string;
  expiresAt: Date | null;
}

export async function createToken(
  store: Store,
  request: { identity: string; ttlMs: number | null; actor: string; reason?: string; now?: Date },
): Promise<CreatedToken> {
  const identity = await store.resources.identityByName(request.identity);
  if (!identity) throw new PolicyError('not_found', `no identity named "${request.identity}"`);
  const now = request.now ?? new Date();
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = newId('tok', 12);
  const keys = scramKeys(token, Buffer.from(identity.scramSalt, 'base64'), SCRAM_ITERATIONS);
  const expiresAt = request.ttlMs === null ? null : new Date(now.getTime() + request.ttlMs);
  await store.tokens.create(
    {
      id,
      identityId: identity.id,
      tokenHash: hashToken(token),
      scramStoredKey: keys.storedKey.toString('base64'),
      scramServerKey: keys.serverKey.toString('base64'),
      scramIterations: SCRAM_ITERATIONS,
      createdAt: now,
      createdBy: request.actor,
      expiresAt,
      revokedAt: null,
      revokedBy: null,
      lastUsedAt: null,
    },
    {
      time: now,
      type: 'token.create',
      actor: request.actor,
      identity: identity.name,
      data: {
        tokenId: id,
        identity: identity.name,
        identityKind: identity.kind,
        expiresAt: expiresAt?.toISOString() ?? null,
        ttl: request.ttlMs === null ? 'never' : formatDuration(request.ttlMs),
        reason: request.reason ?? null,
      },
    },
  );
  return { id, token, identity: identity.name, expiresAt };
}

export async function revokeToken(
  store: Store,
  request: { id: string; actor: string; reason?: string },
): Promise<TokenListing> {
  const existing = await store.tokens.get(request.id);
  if (!existing) throw new PolicyError('not_found', `no token with id ${request.id}`);
  return store.tokens.revoke(request.id, request.actor, {
    type: 'token.revoke',
    actor: request.actor,
    identity: existing.identityName,
    data: { tokenId: request.id, identity: existing.identityName, reason: request.reason ?? null },
  });
}
