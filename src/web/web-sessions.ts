import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import type { AccessControl } from '../policy/access-control.js';
import { PolicyError } from '../policy/errors.js';
import { newId } from '../policy/ids.js';
import type { Identity } from '../policy/model.js';
import type { ViewerRights } from '../policy/viewer-rights.js';
import type { AuditLog } from '../recorder/audit-log.js';
import type { Store } from '../store/store.js';
import { unavailable, WebError } from './errors.js';
import { DEFAULT_SIGN_IN_LIMITS, SignInThrottle, type SignInLimits } from './sign-in-throttle.js';

/** Who is looking: the signed-in identity as it is now, with its viewer rights. */
export interface Viewer {
  webSessionId: string;
  identity: Identity;
  tokenId: string;
  rights: ViewerRights;
  /** Sent back in the `x-csrf-token` header of every state-changing request. */
  csrfToken: string;
  expiresAt: Date;
}

export interface WebSessionOptions {
  idleMs: number;
  maxAgeMs: number;
  /** Failed sign-ins allowed (see SignInThrottle); unset ones keep their defaults. */
  signInLimits?: Partial<SignInLimits>;
  clock?: () => Date;
}

const TOUCH_EVERY_MS = 60_000;
const SIGN_IN_FAILED = 'sign-in failed: unknown identity or token, or the token is expired or revoked';

/**
 * Server-side viewer sessions. The cookie carries 32 random bytes; the store keeps only
 * their sha256. The CSRF token is an HMAC of the cookie value, so it needs no storage and
 * cannot be derived without the cookie. Every request re-reads the session, its token and
 * the identity's roles: revoking the token or changing a role takes effect at once.
 */
export class WebSessions {
  private readonly throttle: SignInThrottle;
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly access: AccessControl,
    private readonly audit: AuditLog,
    private readonly options: WebSessionOptions,
  ) {
    this.throttle = new SignInThrottle({ ...DEFAULT_SIGN_IN_LIMITS, ...options.signInLimits });
    this.clock = options.clock ?? (() => new Date());
  }

  async signIn(request: {
    identity: string;
    token: string;
    clientAddr: string;
    userAgent: string | null;
  }): Promise<{ secret: string; viewer: Viewer }> {
    const now = this.clock();
    const verdict = this.throttle.check(request, now.getTime());
    if (verdict.waitMs > 0) {
      // One event per address and window: a flood of refused requests cannot flood the chain.
      if (verdict.firstRefusal) await this.recordFailure(request, 'rate limited: too many failed sign-ins (further refusals from this address in this window are not recorded)');
      const seconds = Math.ceil(verdict.waitMs / 1000);
      throw new WebError('rate_limited', `too many failed sign-ins; try again in ${seconds} s`, 429, { 'retry-after': String(seconds) });
    }

    let resolved;
    try {
      resolved = await this.access.identityForToken(request.token);
      if (resolved.identity.name !== request.identity) throw new PolicyError('identity_mismatch', 'the token belongs to another identity');
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      this.throttle.failed(request, now.getTime());
      await this.recordFailure(request, err.message);
      throw new WebError('unauthorized', SIGN_IN_FAILED, 401);
    }
    this.throttle.succeeded(request);

    const token = await this.store.tokens.get(resolved.credential.id);
    const maxEnd = now.getTime() + this.options.maxAgeMs;
    const expiresAt = new Date(token?.expiresAt ? Math.min(token.expiresAt.getTime(), maxEnd) : maxEnd);
    const secret = randomBytes(32).toString('base64url');
    const id = newId('web', 16);
    await this.audit
      .record({
        time: now,
        type: 'web.signin',
        actor: resolved.identity.name,
        identity: resolved.identity.name,
        data: {
          webSession: id,
          credential: resolved.credential.id,
          clientAddr: request.clientAddr,
          userAgent: request.userAgent,
          expiresAt: expiresAt.toISOString(),
        },
      })
      .catch((err: unknown) => {
        throw unavailable(`sign-in refused: the audit log cannot be written (${errorMessage(err)})`);
      });
    await this.store.webSessions.create({
      id,
      secretHash: hashSecret(secret),
      identityId: resolved.identity.id,
      identityName: resolved.identity.name,
      tokenId: resolved.credential.id,
      clientAddr: request.clientAddr,
      userAgent: request.userAgent?.slice(0, 300) ?? null,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: new Date(Math.min(now.getTime() + this.options.idleMs, expiresAt.getTime())),
      expiresAt,
      endedAt: null,
      endReason: null,
    });
    return {
      secret,
      viewer: {
        webSessionId: id,
        identity: resolved.identity,
        tokenId: resolved.credential.id,
        rights: await this.access.viewerRightsOf(resolved.identity),
        csrfToken: csrfTokenFor(secret),
        expiresAt,
      },
    };
  }

  /** The viewer behind a cookie value, or null if it is unknown, expired, ended or its token died. */
  async resolve(secret: string | undefined): Promise<Viewer | null> {
    if (!secret || secret.length > 100) return null;
    const found = await this.store.webSessions.resolve(hashSecret(secret));
    if (!found) return null;
    const now = this.clock();
    const { session, token, identity } = found;
    const dead =
      session.endedAt !== null ||
      session.expiresAt <= now ||
      session.idleExpiresAt <= now ||
      !token ||
      token.revokedAt !== null ||
      (token.expiresAt !== null && token.expiresAt <= now) ||
      !identity;
    if (dead) {
      if (!session.endedAt) await this.store.webSessions.end(session.id, now, endReason(found, now));
      return null;
    }
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      const idleExpiresAt = new Date(Math.min(now.getTime() + this.options.idleMs, session.expiresAt.getTime()));
      await this.store.webSessions.touch(session.id, now, idleExpiresAt);
    }
    const current: Identity = { id: identity.id, name: identity.name, kind: identity.kind, owner: identity.owner, roles: identity.roles };
    return {
      webSessionId: session.id,
      identity: current,
      tokenId: token.id,
      rights: await this.access.viewerRightsOf(current),
      csrfToken: csrfTokenFor(secret),
      expiresAt: session.expiresAt,
    };
  }

  /**
   * The identity behind `Authorization: Bearer <token>` (the CLI and other programs acting as
   * an identity): no cookie, no web session, checked on every request. Failures count against
   * the client address's sign-in limit and are `auth.failure` events.
   */
  async bearer(token: string, clientAddr: string): Promise<{ identity: Identity; tokenId: string; rights: ViewerRights }> {
    const now = this.clock();
    // Bearer failures count like sign-in failures, under a name of their own.
    const attempt = { clientAddr, identity: '(bearer token)' };
    const verdict = this.throttle.check(attempt, now.getTime());
    if (verdict.waitMs > 0) {
      const seconds = Math.ceil(verdict.waitMs / 1000);
      throw new WebError('rate_limited', `too many failed attempts; try again in ${seconds} s`, 429, { 'retry-after': String(seconds) });
    }
    try {
      const resolved = await this.access.identityForToken(token);
      return { identity: resolved.identity, tokenId: resolved.credential.id, rights: await this.access.viewerRightsOf(resolved.identity) };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      this.throttle.failed(attempt, now.getTime());
      await this.access
        .recordAuthFailure({ protocol: 'web', clientAddr, claimed: null, reason: `bearer token refused: ${err.message}` })
        .catch((error: unknown) => {
          throw unavailable(`refused: the audit log cannot be written (${errorMessage(error)})`);
        });
      throw new WebError('unauthorized', 'the bearer token is unknown, expired or revoked', 401);
    }
  }

  async signOut(viewer: Viewer): Promise<void> {
    const now = this.clock();
    await this.store.webSessions.end(viewer.webSessionId, now, 'signed out');
    await this.audit
      .record({ time: now, type: 'web.signout', actor: viewer.identity.name, identity: viewer.identity.name, data: { webSession: viewer.webSessionId } })
      .catch(() => undefined);
  }

  private async recordFailure(request: { identity: string; clientAddr: string }, reason: string): Promise<void> {
    await this.access
      .recordAuthFailure({ protocol: 'web', clientAddr: request.clientAddr, claimed: request.identity.slice(0, 200), reason })
      .catch((err: unknown) => {
        throw unavailable(`sign-in refused: the audit log cannot be written (${errorMessage(err)})`);
      });
  }
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function csrfTokenFor(secret: string): string {
  return createHmac('sha256', secret).update('custos-csrf').digest('base64url');
}

export function sameToken(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function endReason(found: NonNullable<Awaited<ReturnType<Store['webSessions']['resolve']>>>, now: Date): string {
  if (!found.identity) return 'identity deleted';
  if (!found.token) return 'token deleted';
  if (found.token.revokedAt) return 'token revoked';
  if (found.token.expiresAt && found.token.expiresAt <= now) return 'token expired';
  if (found.session.expiresAt <= now) return 'session expired';
  return 'idle timeout';
}
