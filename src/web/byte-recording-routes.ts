import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayConfig } from '../core/config.js';
import { streamBytes } from '../recorder/byte-recording-reader.js';
import { BYTE_STREAMS, type ByteStream } from '../recorder/byte-recording.js';
import { summarizeByteRecording } from '../recorder/byte-recording-summary.js';
import { recordingFormatOf } from '../recorder/recording-format.js';
import type { Store } from '../store/store.js';
import { WebError } from './errors.js';
import { parseQuery } from './params.js';
import { visibleRecording } from './session-access.js';
import { viewerOf } from './viewer-context.js';
import type { ViewLog } from './view-log.js';

const channelQuery = z.object({ channel: z.string().max(12).optional() }).strict();
/** Streams shown as text in the page up to this size; larger ones are downloaded. */
const TEXT_UP_TO = 1024 * 1024;

/**
 * A channel without a terminal, recorded as a byte recording:
 * GET /api/sessions/:id/bytes — per stream its size, sha256, whether it is printable text
 * (and the text, up to 1 MiB), the exit status; GET /api/sessions/:id/bytes/:stream — one
 * stream's bytes exactly as they passed, as a download.
 */
export function registerByteRecordingRoutes(app: FastifyInstance, deps: { store: Store; config: GatewayConfig; views: ViewLog }): void {
  const { store, config, views } = deps;

  const byteRecording = async (viewer: ReturnType<typeof viewerOf>, sessionId: string, channel: string | undefined) => {
    const found = await visibleRecording(store, config.recordings.dir, viewer, sessionId, channel);
    if ((await recordingFormatOf(found.file.realPath)) !== 'bytes') {
      throw new WebError('not_bytes', 'this recording is a terminal recording (asciicast): replay it instead', 422);
    }
    return found;
  };

  app.get<{ Params: { id: string } }>('/api/sessions/:id/bytes', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(channelQuery, request.query);
    const { detail, recording, file } = await byteRecording(viewer, request.params.id, query.channel);
    await views.record(viewer, {
      type: 'web.recording.view',
      sessionId: detail.session.id,
      target: detail.session.target,
      data: { watched: detail.session.identityName, channel: recording.channel, bytes: file.size },
      dedupeKey: `${detail.session.id}\0${recording.channel}`,
    });
    const summary = await summarizeByteRecording(file.realPath, { textUpTo: TEXT_UP_TO });
    return { channel: recording.channel, kind: recording.kind, command: recording.command, bytes: file.size, ...summary };
  });

  app.get<{ Params: { id: string; stream: string } }>('/api/sessions/:id/bytes/:stream', async (request, reply) => {
    const viewer = viewerOf(request);
    const query = parseQuery(channelQuery, request.query);
    const stream = request.params.stream;
    if (!(BYTE_STREAMS as readonly string[]).includes(stream)) throw new WebError('bad_request', 'stream: expected stdout, stderr or stdin', 400);
    const { detail, recording, file } = await byteRecording(viewer, request.params.id, query.channel);
    await views.record(viewer, {
      type: 'web.recording.download',
      sessionId: detail.session.id,
      target: detail.session.target,
      data: { watched: detail.session.identityName, channel: recording.channel, stream },
    });
    reply.header('content-type', 'application/octet-stream');
    reply.header('cache-control', 'private, no-store');
    reply.header('content-disposition', `attachment; filename="${detail.session.id}-${recording.channel}.${stream}"`);
    return reply.send(Readable.from(streamBytes(file.realPath, stream as ByteStream)));
  });
}
