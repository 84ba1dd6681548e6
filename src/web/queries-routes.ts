import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { queryCsvHeader, queryCsvLine, queryJsonLine } from '../recorder/query-export.js';
import type { QueryListing } from '../store/repositories/queries.js';
import type { QueryPageFilter, ViewerScope } from '../store/repositories/viewer.js';
import type { Store } from '../store/store.js';
import { sendExport } from './export-reply.js';
import { decodeCursor, encodeCursor, limit, parseQuery, text, time } from './params.js';
import { scopeFor, viewerOf } from './viewer-context.js';
import type { ViewLog } from './view-log.js';

const filterFields = {
  identity: text,
  session: text,
  target: text,
  status: z.enum(['ok', 'error', 'skipped', 'cancelled', 'unfinished']).optional(),
  since: time,
  until: time,
};
const listQuery = z.object({ ...filterFields, cursor: z.string().max(200).optional(), limit: limit(500, 100) }).strict();
const exportQuery = z.object({ ...filterFields, format: z.enum(['csv', 'jsonl']) }).strict();

type Filter = Omit<QueryPageFilter, 'order' | 'limit'>;

function toFilter(query: z.infer<typeof listQuery> | z.infer<typeof exportQuery>): Filter {
  return {
    ...(query.identity ? { identity: query.identity } : {}),
    ...(query.session ? { sessionId: query.session } : {}),
    ...(query.target ? { target: query.target } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.since ? { since: query.since } : {}),
    ...(query.until ? { until: query.until } : {}),
  };
}

/** A statement as the viewer and the exports show it. */
export function queryView(row: QueryListing) {
  return {
    id: row.id,
    sessionId: row.sessionId,
    seq: row.seq,
    identity: row.identityName,
    target: row.target,
    database: row.database,
    dbUser: row.dbUser,
    protocol: row.protocol,
    statement: row.statement,
    params: row.params,
    startedAt: row.startedAt.toISOString(),
    durationMs: row.durationMs,
    commandTag: row.commandTag,
    rowCount: row.rowCount,
    status: row.status,
    sqlstate: row.sqlstate,
    errorMessage: row.errorMessage,
    ticket: row.ticket,
  };
}

/** GET /api/queries (paginated, newest first) and /api/queries/export (CSV or JSON lines). */
export function registerQueryRoutes(app: FastifyInstance, deps: { store: Store; views: ViewLog }): void {
  const { store, views } = deps;

  app.get('/api/queries', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(listQuery, request.query);
    const scope = await scopeFor(store, viewer, viewer.rights.queries, 'queries');
    const beforeId = decodeCursor(query.cursor, z.number().int());
    const rows = await store.viewer.queriesPage(scope, {
      ...toFilter(query),
      ...(beforeId !== undefined ? { beforeId } : {}),
      order: 'desc',
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(queryView),
      nextCursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.id) : null,
    };
  });

  /**
   * Exactly the filtered set as it stood when the export began: rows up to the newest id
   * at that moment, oldest first, streamed page by page.
   */
  app.get('/api/queries/export', async (request, reply) => {
    const viewer = viewerOf(request);
    const query = parseQuery(exportQuery, request.query);
    const scope = await scopeFor(store, viewer, viewer.rights.queries, 'queries');
    const filter = toFilter(query);
    const throughId = await store.viewer.lastQueryId();
    return sendExport(reply, views, viewer, {
      type: 'web.queries.export',
      name: 'queries',
      format: query.format,
      filter,
      scope,
      throughId,
      lines: exportLines(store, scope, filter, throughId, query.format),
    });
  });
}

async function* exportLines(store: Store, scope: ViewerScope, filter: Filter, throughId: number, format: 'csv' | 'jsonl'): AsyncGenerator<string> {
  if (format === 'csv') yield queryCsvHeader();
  let afterId = 0;
  while (true) {
    const rows = await store.viewer.queriesPage(scope, { ...filter, afterId, throughId, order: 'asc', limit: 1000 });
    if (rows.length === 0) return;
    yield rows.map(format === 'csv' ? queryCsvLine : queryJsonLine).join('');
    afterId = rows.at(-1)!.id;
    if (rows.length < 1000) return;
  }
}
