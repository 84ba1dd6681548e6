import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { ViewerScope } from '../store/repositories/viewer.js';
import type { ViewEvent, ViewLog } from './view-log.js';
import type { Viewer } from './web-sessions.js';

export interface EvidenceExport {
  type: Extract<ViewEvent['type'], `${string}.export`>;
  /** Names the download: custos-<name>-<time>.<format>. */
  name: string;
  format: 'csv' | 'jsonl';
  filter: { sessionId?: string; target?: string; since?: Date; until?: Date } & Record<string, unknown>;
  scope: ViewerScope;
  /** The newest row id when the export began: the export covers rows up to it. */
  throughId: number;
  lines: AsyncIterable<string>;
}

/**
 * Sends an export of evidence rows (the query log, the Kubernetes request log) after its
 * audit event is written — nothing is served if it cannot be — as a download streamed page
 * by page.
 */
export async function sendExport(reply: FastifyReply, views: ViewLog, viewer: Viewer, request: EvidenceExport): Promise<FastifyReply> {
  const { filter } = request;
  await views.record(viewer, {
    type: request.type,
    sessionId: filter.sessionId ?? null,
    target: filter.target ?? null,
    data: {
      format: request.format,
      filter: { ...filter, since: filter.since?.toISOString() ?? null, until: filter.until?.toISOString() ?? null },
      scope: request.scope.identityIds === null ? 'all' : 'own',
      throughId: request.throughId,
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  reply.header('content-type', request.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="custos-${request.name}-${stamp}.${request.format}"`);
  return reply.send(Readable.from(request.lines));
}
