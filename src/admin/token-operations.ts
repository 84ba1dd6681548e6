import { parseDuration } from '../core/duration.js';
import { createToken, revokeToken } from '../policy/tokens.js';
import { optionalString, stringArg } from './args.js';
import type { Operation } from './context.js';

export const DEFAULT_TOKEN_TTL = '8h';

export const tokenOperations: Record<string, Operation> = {
  async 'token.create'(context, args) {
    const ttl = optionalString(args, 'ttl') ?? DEFAULT_TOKEN_TTL;
    const reason = optionalString(args, 'reason');
    const requestId = optionalString(args, 'request');
    return createToken(context.store, {
      identity: stringArg(args, 'identity'),
      ttlMs: ttl === 'never' ? null : parseDuration(ttl),
      actor: context.actor,
      ...(reason ? { reason } : {}),
      ...(requestId ? { requestId } : {}),
    });
  },

  async 'token.list'(context, args) {
    const identityName = optionalString(args, 'identity');
    return context.store.tokens.list({ ...(identityName ? { identityName } : {}), includeInactive: args.all === true });
  },

  async 'token.revoke'(context, args) {
    const reason = optionalString(args, 'reason');
    return revokeToken(context.store, { id: stringArg(args, 'id'), actor: context.actor, ...(reason ? { reason } : {}) });
  },
};
