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

/**
 * Makes a token for an identity. With `requestId` (an approved request for that identity,
 * typically a bot's) the token lives only as long as the request's grant: it expires at the
 * grant's end and is revoked with it.
 */
export async function createToken(
  store: Store,
  request: { identity: string; ttlMs: number | null; actor: string; reason?: string; now?: Date; requestId?: string },
): Promise<CreatedToken> {
  const identity = await store.resources.identityByName(request.identity);
  if (!identity) throw new PolicyError('not_found', `no identity named "${request.identity}"`);
  const now = request.now ?? new Date();
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = newId('tok', 12);
  const keys = scramKeys(token, Buffer.from(identity.scramSalt, 'base64'), SCRAM_ITERATIONS);
  let expiresAt = request.ttlMs === null ? null : new Date(now.getTime() + request.ttlMs);
  if (request.requestId) {
    const detail = await store.requests.get(request.requestId);
    if (!detail) throw new PolicyError('not_found', `no request ${request.requestId}`);
    if (detail.request.identityId !== identity.id) {
      throw new PolicyError('request_refused', `request ${request.requestId} is for ${detail.request.identityName}, not ${identity.name}`);
    }
    const grant = detail.grant;
    if (!grant || grant.state !== 'active' || grant.endsAt <= now) {
      throw new PolicyError('request_refused', `request ${request.requestId} is ${detail.request.state} and gives no access now: a token under it would never work`);
    }
    expiresAt = grant.endsAt;
  }
  const row = {
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
    requestId: request.requestId ?? null,
  };
  const event = {
    time: now,
    type: 'token.create',
    actor: request.actor,
    identity: identity.name,
    data: {
      tokenId: id,
      identity: identity.name,
      identityKind: identity.kind,
      expiresAt: expiresAt?.toISOString() ?? null,
      ttl: request.requestId ? 'while the request grant lasts' : request.ttlMs === null ? 'never' : formatDuration(request.ttlMs),
      request: request.requestId ?? null,
      reason: request.reason ?? null,
    },
  };
  if (request.requestId) await store.requests.mintToken(request.requestId, row, [event], now);
  else await store.tokens.create(row, event);
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
