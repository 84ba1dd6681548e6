import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { verifyAuditChain } from '../recorder/audit-verify.js';
import type { Store } from '../store/store.js';
import { forbidden } from './errors.js';
import { decodeCursor, encodeCursor, limit, parseQuery, text, time } from './params.js';
import { viewerOf } from './viewer-context.js';
import type { Viewer } from './web-sessions.js';

/** Event families the audit page shows, by type prefix. */
export const AUDIT_CATEGORIES: Record<string, string[]> = {
  changes: ['resource.', 'permission.', 'token.', 'credential.'],
  access: ['access.', 'auth.'],
  viewer: ['web.'],
  sessions: ['session.'],
};

const auditQuery = z
  .object({
    category: z.enum(['changes', 'access', 'viewer', 'sessions', 'all']).default('changes'),
    type: text,
    identity: text,
    actor: text,
    target: text,
    since: time,
    until: time,
    seq: z.coerce.number().int().min(1).optional(),
    cursor: z.string().max(100).optional(),
    limit: limit(500, 100),
  })
  .strict();

function requireAudit(viewer: Viewer): void {
  if (!viewer.rights.audit) throw forbidden('your roles grant no access to the audit history (role spec.viewer.audit)');
}

/** GET /api/audit (permission changes, access decisions …) and /api/audit/verify (the chain). */
export function registerAuditRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const { store } = deps;

  app.get('/api/audit', async (request) => {
    const viewer = viewerOf(request);
    requireAudit(viewer);
    const query = parseQuery(auditQuery, request.query);
    const beforeSeq = decodeCursor(query.cursor, z.number().int());
    const events = await store.viewer.auditPage({
      typePrefixes: query.category === 'all' ? [] : AUDIT_CATEGORIES[query.category]!,
      ...(query.type ? { type: query.type } : {}),
      ...(query.identity ? { identity: query.identity } : {}),
      ...(query.actor ? { actor: query.actor } : {}),
      ...(query.target ? { target: query.target } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
      ...(query.seq !== undefined ? { seq: query.seq } : {}),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
      limit: query.limit + 1,
    });
    const page = events.slice(0, query.limit);
    return { items: page, nextCursor: events.length > query.limit ? encodeCursor(page.at(-1)!.seq) : null };
  });

  app.get('/api/audit/verify', async (request) => {
    requireAudit(viewerOf(request));
    const started = performance.now();
    const result = await verifyAuditChain(store);
    return { ...result, checkedAt: new Date().toISOString(), tookMs: Math.round(performance.now() - started) };
  });
}
