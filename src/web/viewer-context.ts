import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity } from '../policy/model.js';
import type { AccessLevel, ViewerRights } from '../policy/viewer-rights.js';
import type { ViewerScope } from '../store/repositories/viewer.js';
import type { Store } from '../store/store.js';
import { parseCookies } from './cookies.js';
import { forbidden, unauthorized } from './errors.js';
import { sameToken, type Viewer, type WebSessions } from './web-sessions.js';

const viewers = new WeakMap<FastifyRequest, Viewer>();
const bearers = new WeakMap<FastifyRequest, BearerCaller>();
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';

/** Cookie name: the `__Host-` prefix (Secure, no Domain, Path=/) needs TLS. */
export function cookieName(tls: boolean): string {
  return tls ? '__Host-custos_session' : 'custos_session';
}

/** An identity calling the API with `Authorization: Bearer <token>` (the CLI, scripts). */
export interface BearerCaller {
  identity: Identity;
  tokenId: string;
  rights: ViewerRights;
}

/** Who calls an API route that identities may call from programs as well as from the viewer. */
export interface Caller {
  identity: Identity;
  rights: ViewerRights;
  /** The signed-in viewer (cookie), absent for a bearer caller. */
  viewer: Viewer | null;
}

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/**
 * Resolves the viewer of every /api request from its cookie, and guards every
 * state-changing request: its Origin (when sent) must be this site, and, except for
 * sign-in itself, it must carry the session's CSRF token in the `x-csrf-token` header.
 * A request with `Authorization: Bearer <token>` is a program acting as an identity: its
 * cookie is ignored and it needs no CSRF token (a browser never adds that header by itself);
 * only the routes that accept callers (`callerOf`) serve it.
 */
export function installAuthentication(app: FastifyInstance, sessions: WebSessions, options: { tls: boolean }): void {
  const name = cookieName(options.tls);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const bearer = bearerToken(request.headers.authorization);
    const origin = request.headers.origin;
    const crossOrigin = origin !== undefined && origin !== ownOrigin(request);
    if (bearer !== null) {
      if (crossOrigin && !SAFE_METHODS.has(request.method)) throw forbidden(`cross-origin request from ${origin} refused`);
      bearers.set(request, await sessions.bearer(bearer, request.ip));
      return;
    }
    const viewer = await sessions.resolve(parseCookies(request.headers.cookie).get(name));
    if (viewer) viewers.set(request, viewer);
    if (SAFE_METHODS.has(request.method)) return;
    if (crossOrigin) throw forbidden(`cross-origin request from ${origin} refused`);
    if (request.url.split('?')[0] === '/api/login') return;
    if (!viewer) throw unauthorized();
    const token = request.headers[CSRF_HEADER];
    if (!sameToken(Array.isArray(token) ? token[0] : token, viewer.csrfToken)) throw forbidden('missing or wrong CSRF token');
  });
}

export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The identity calling: a bearer token's, or the signed-in viewer's; 401 without either. */
export function callerOf(request: FastifyRequest): Caller {
  const bearer = bearers.get(request);
  if (bearer) return { identity: bearer.identity, rights: bearer.rights, viewer: null };
  const viewer = viewerOf(request);
  return { identity: viewer.identity, rights: viewer.rights, viewer };
}

/** The signed-in viewer of this request; 401 without one (a bearer token is not a viewer). */
export function viewerOf(request: FastifyRequest): Viewer {
  const viewer = viewers.get(request);
  if (!viewer) throw unauthorized();
  return viewer;
}

/**
 * Which identities' records a viewer may read at this access level: all, their own (and
 * their bots'), or none (403).
 */
export async function scopeFor(store: Store, viewer: Viewer, level: AccessLevel, what: string): Promise<ViewerScope> {
  if (level === 'none') throw forbidden(`your roles grant no access to ${what} in the viewer`);
  if (level === 'all') return { identityIds: null };
  const owned = viewer.identity.kind === 'human' ? await store.viewer.identityIdsOwnedBy(viewer.identity.name) : [];
  return { identityIds: [viewer.identity.id, ...owned] };
}

export function inScope(scope: ViewerScope, identityId: string): boolean {
  return scope.identityIds === null || scope.identityIds.includes(identityId);
}
