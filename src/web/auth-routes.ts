import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sessionCookie } from './cookies.js';
import { badRequest } from './errors.js';
import { callerOf, cookieName, viewerOf } from './viewer-context.js';
import type { Viewer, WebSessions } from './web-sessions.js';

const signInBody = z
  .object({
    identity: z.string().min(1).max(200),
    token: z.string().min(1).max(500),
  })
  .strict();

function describe(viewer: Viewer) {
  return {
    identity: { name: viewer.identity.name, kind: viewer.identity.kind, owner: viewer.identity.owner, roles: viewer.identity.roles },
    rights: viewer.rights,
    csrfToken: viewer.csrfToken,
    expiresAt: viewer.expiresAt.toISOString(),
  };
}

/** POST /api/login (identity name + token), POST /api/logout, GET /api/me. */
export function registerAuthRoutes(app: FastifyInstance, sessions: WebSessions, options: { tls: boolean }): void {
  const name = cookieName(options.tls);

  app.post('/api/login', async (request, reply) => {
    const parsed = signInBody.safeParse(request.body);
    if (!parsed.success) throw badRequest('send {"identity": "<name>", "token": "cus_…"} as JSON');
    const { secret, viewer } = await sessions.signIn({
      identity: parsed.data.identity,
      token: parsed.data.token,
      clientAddr: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
    });
    const maxAgeSeconds = (viewer.expiresAt.getTime() - Date.now()) / 1000;
    reply.header('set-cookie', sessionCookie(name, secret, { secure: options.tls, maxAgeSeconds }));
    return describe(viewer);
  });

  app.post('/api/logout', async (request, reply) => {
    await sessions.signOut(viewerOf(request));
    reply.header('set-cookie', sessionCookie(name, '', { secure: options.tls, maxAgeSeconds: 0 }));
    return { ok: true };
  });

  /** The signed-in viewer, or the identity behind a bearer token (which has no CSRF token: it needs none). */
  app.get('/api/me', async (request) => {
    const caller = callerOf(request);
    if (caller.viewer) return describe(caller.viewer);
    const { identity, rights } = caller;
    return { identity: { name: identity.name, kind: identity.kind, owner: identity.owner, roles: identity.roles }, rights, csrfToken: null, expiresAt: null };
  });
}
