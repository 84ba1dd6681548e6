import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayConfig } from '../core/config.js';
import { recordingFormatOf } from '../recorder/recording-format.js';
import type { Store } from '../store/store.js';
import { notFound, WebError } from './errors.js';
import { parseQuery } from './params.js';
import { parseRange } from './recording-files.js';
import { recordingKey, type ReplayService } from './replay/replay-service.js';
import { visibleRecording } from './session-access.js';
import { viewerOf } from './viewer-context.js';
import type { ViewLog } from './view-log.js';

const channelParam = z.string().max(12).optional();
const rawQuery = z.object({ channel: channelParam, download: z.enum(['0', '1']).optional() }).strict();
const replayQuery = z.object({ channel: channelParam }).strict();
const segmentQuery = z.object({ channel: channelParam, v: z.string().max(60) }).strict();

export const CAST_CONTENT_TYPE = 'application/x-asciicast';

/**
 * GET /api/sessions/:id/recording — the raw recording file (.cast, or .bytes for a channel
 * without a terminal), with byte ranges (and as a download);
 * GET /api/sessions/:id/replay and /replay/segments/:n — the segmented form the player
 * streams from.
 */
export function registerRecordingRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: GatewayConfig; replay: ReplayService; views: ViewLog },
): void {
  const { store, config, replay, views } = deps;

  app.get<{ Params: { id: string } }>('/api/sessions/:id/recording', async (request, reply) => {
    const viewer = viewerOf(request);
    const query = parseQuery(rawQuery, request.query);
    const { detail, recording, file } = await visibleRecording(store, config.recordings.dir, viewer, request.params.id, query.channel);
    const range = parseRange(request.headers.range, file.size);
    if (range === 'invalid') {
      throw new WebError('range_not_satisfiable', `the recording has ${file.size} bytes`, 416, { 'content-range': `bytes */${file.size}` });
    }
    const download = query.download === '1';
    await views.record(viewer, {
      type: download ? 'web.recording.download' : 'web.recording.view',
      sessionId: detail.session.id,
      target: detail.session.target,
      data: { watched: detail.session.identityName, channel: recording.channel, bytes: file.size, ...(range ? { range: `${range.start}-${range.end}` } : {}) },
      ...(download ? {} : { dedupeKey: `${detail.session.id}\0${recording.channel}` }),
    });
    const bytes = (await recordingFormatOf(file.realPath)) === 'bytes';
    reply.header('content-type', bytes ? 'application/octet-stream' : CAST_CONTENT_TYPE);
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', 'private, no-store');
    if (download) {
      reply.header('content-disposition', `attachment; filename="${detail.session.id}-${recording.channel}.${bytes ? 'bytes' : 'cast'}"`);
    }
    if (range) {
      reply.status(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
      reply.header('content-length', String(range.end - range.start + 1));
      return reply.send(createReadStream(file.realPath, { start: range.start, end: range.end }));
    }
    reply.header('content-length', String(file.size));
    return reply.send(file.size === 0 ? '' : createReadStream(file.realPath, { start: 0, end: file.size - 1 }));
  });

  app.get<{ Params: { id: string } }>('/api/sessions/:id/replay', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(replayQuery, request.query);
    const { detail, recording, file } = await visibleRecording(store, config.recordings.dir, viewer, request.params.id, query.channel);
    if ((await recordingFormatOf(file.realPath)) === 'bytes') {
      throw new WebError('not_a_terminal', 'this channel had no terminal: its recording is shown from /bytes, not replayed', 422);
    }
    await views.record(viewer, {
      type: 'web.recording.view',
      sessionId: detail.session.id,
      target: detail.session.target,
      data: { watched: detail.session.identityName, channel: recording.channel, bytes: file.size },
      dedupeKey: `${detail.session.id}\0${recording.channel}`,
    });
    const { key, scan } = await replay.scan(file).catch((err: Error) => {
      throw new WebError('unplayable', `the recording cannot be played: ${err.message}`, 422);
    });
    const base = `/api/sessions/${encodeURIComponent(detail.session.id)}/replay/segments`;
    const suffix = `?channel=${encodeURIComponent(recording.channel)}&v=${encodeURIComponent(key)}`;
    return {
      version: 1,
      duration: scan.duration,
      term: { cols: scan.header.width || 80, rows: scan.header.height || 24 },
      segments: scan.segments.map((segment, index) => ({ start: segment.start, url: `${base}/${index}${suffix}` })),
      markers: scan.markers,
      custos: { events: scan.events, bytes: scan.end, segments: scan.segments.length, header: scan.header.custos ?? null },
    };
  });

  app.get<{ Params: { id: string; index: string } }>('/api/sessions/:id/replay/segments/:index', async (request, reply) => {
    const viewer = viewerOf(request);
    const query = parseQuery(segmentQuery, request.query);
    const { detail, recording, file } = await visibleRecording(store, config.recordings.dir, viewer, request.params.id, query.channel);
    const index = Number(request.params.index);
    if (!Number.isInteger(index) || index < 0) throw notFound('no such segment');
    await views.record(viewer, {
      type: 'web.recording.view',
      sessionId: detail.session.id,
      target: detail.session.target,
      data: { watched: detail.session.identityName, channel: recording.channel, bytes: file.size },
      dedupeKey: `${detail.session.id}\0${recording.channel}`,
    });
    const segment = await replay.segment(file, query.v, index);
    if (!segment) {
      throw new WebError('gone', `the recording changed since it was indexed (now ${recordingKey(file)}); reload the page`, 410);
    }
    // Segments of a given file version never change.
    reply.header('cache-control', 'private, max-age=3600');
    return segment;
  });
}
