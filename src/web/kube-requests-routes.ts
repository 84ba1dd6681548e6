import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { kubeRequestCsvHeader, kubeRequestCsvLine, kubeRequestJsonLine } from '../recorder/kube-request-export.js';
import type { KubeRequestFilter, KubeRequestRow } from '../store/repositories/kube-requests.js';
import type { Store } from '../store/store.js';
import { sendExport } from './export-reply.js';
import { decodeCursor, encodeCursor, limit, parseQuery, text, time } from './params.js';
import { scopeFor, viewerOf } from './viewer-context.js';
import type { ViewLog } from './view-log.js';

const filterFields = {
  identity: text,
  session: text,
  target: text,
  verb: text,
  resource: text,
  namespace: text,
  decision: z.enum(['allowed', 'denied']).optional(),
  since: time,
  until: time,
};
const listQuery = z.object({ ...filterFields, cursor: z.string().max(200).optional(), limit: limit(500, 100) }).strict();
const exportQuery = z.object({ ...filterFields, format: z.enum(['csv', 'jsonl']) }).strict();

type Filter = Pick<KubeRequestFilter, 'identity' | 'sessionId' | 'target' | 'verb' | 'resource' | 'namespace' | 'decision' | 'since' | 'until'>;

function toFilter(query: z.infer<typeof listQuery> | z.infer<typeof exportQuery>): Filter {
  const { session, cursor: _cursor, limit: _limit, format: _format, ...rest } = query as z.infer<typeof listQuery> & { format?: string };
  return Object.fromEntries(Object.entries({ ...rest, sessionId: session }).filter(([, value]) => value !== undefined)) as Filter;
}

/** A request as the viewer shows it. */
export function kubeRequestView(row: KubeRequestRow) {
  return {
    id: row.id,
    sessionId: row.sessionId,
    seq: row.seq,
    identity: row.identityName,
    target: row.target,
    method: row.method,
    verb: row.verb,
    apiGroup: row.apiGroup,
    resource: row.resource,
    subresource: row.subresource,
    namespace: row.namespace,
    name: row.name,
    path: row.path,
    decision: row.decision,
    reason: row.reason,
    kubeUser: row.kubeUser,
    kubeGroups: row.kubeGroups,
    startedAt: row.startedAt.toISOString(),
    code: row.code,
    durationMs: row.durationMs,
    requestBytes: row.requestBytes,
    responseBytes: row.responseBytes,
    details: row.details,
  };
}

/**
 * GET /api/kube-requests (paginated, newest first) and /api/kube-requests/export (CSV or
 * JSON lines), with the same rights as the query log (`viewer.queries`).
 */
export function registerKubeRequestRoutes(app: FastifyInstance, deps: { store: Store; views: ViewLog }): void {
  const { store, views } = deps;

  app.get('/api/kube-requests', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(listQuery, request.query);
    const scope = await scopeFor(store, viewer, viewer.rights.queries, 'Kubernetes requests');
    const beforeId = decodeCursor(query.cursor, z.number().int());
    const rows = await store.kubeRequests.list({
      ...toFilter(query),
      identityIds: scope.identityIds,
      ...(beforeId !== undefined ? { beforeId } : {}),
      order: 'desc',
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return { items: page.map(kubeRequestView), nextCursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.id) : null };
  });

  /** Exactly the filtered set as it stood when the export began, oldest first, streamed page by page. */
  app.get('/api/kube-requests/export', async (request, reply) => {
    const viewer = viewerOf(request);
    const query = parseQuery(exportQuery, request.query);
    const scope = await scopeFor(store, viewer, viewer.rights.queries, 'Kubernetes requests');
    const filter = toFilter(query);
    const throughId = await store.kubeRequests.lastId();
    return sendExport(reply, views, viewer, {
      type: 'web.kube-requests.export',
      name: 'kube-requests',
      format: query.format,
      filter,
      scope,
      throughId,
      lines: exportLines(store, { ...filter, identityIds: scope.identityIds, throughId }, query.format),
    });
  });
}

async function* exportLines(store: Store, filter: KubeRequestFilter, format: 'csv' | 'jsonl'): AsyncGenerator<string> {
  if (format === 'csv') yield kubeRequestCsvHeader();
  let afterId = 0;
  while (true) {
    const rows = await store.kubeRequests.list({ ...filter, afterId, order: 'asc', limit: 1000 });
    if (rows.length === 0) return;
    yield rows.map(format === 'csv' ? kubeRequestCsvLine : kubeRequestJsonLine).join('');
    afterId = rows.at(-1)!.id;
    if (rows.length < 1000) return;
  }
}
