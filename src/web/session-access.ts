import { mayViewRequest } from '../policy/approval-rules.js';
import type { SessionDetail } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { badRequest, notFound } from './errors.js';
import { locateRecording } from './recording-files.js';
import type { RecordingFile } from './replay/replay-service.js';
import { inScope, scopeFor } from './viewer-context.js';
import type { Viewer } from './web-sessions.js';

/**
 * A session the viewer may see, or 403 (no session rights) / 404 (unknown or not theirs).
 * Theirs: their own (and their bots'), every session with `sessions: all`, and the sessions
 * opened under an access request they may see (its approvers follow what they approved).
 */
export async function visibleSession(store: Store, viewer: Viewer, id: string): Promise<SessionDetail> {
  const scope = await scopeFor(store, viewer, viewer.rights.sessions, 'sessions');
  const detail = id.length <= 100 ? await store.sessions.detail(id) : null;
  // Another identity's session is reported exactly like a missing one: no existence oracle.
  if (!detail) throw notFound(`no session ${id}`);
  if (inScope(scope, detail.session.identityId)) return detail;
  const request = detail.session.requestId ? await store.requests.get(detail.session.requestId) : null;
  if (request && mayViewRequest(request.request, viewer.identity)) return detail;
  throw notFound(`no session ${id}`);
}

export interface RecordingRef {
  /** `main` for a session recording that is no channel's, else the channel id. */
  channel: string;
  path: string;
  bytes: number | null;
  sha256: string | null;
  kind: string;
  command: string | null;
  /** The session row names this file as its main recording (its digest is sealed as `recording` too). */
  main: boolean;
}

/**
 * The session's recordings, its main one first. The SSH proxy names the first channel
 * recording in the session row as the session's main recording: that file is listed once,
 * as its channel.
 */
export function recordingsOf(detail: SessionDetail): RecordingRef[] {
  const { session } = detail;
  const channels: RecordingRef[] = [];
  for (const channel of detail.channels) {
    if (!channel.recordingPath) continue;
    channels.push({
      channel: String(channel.channelId),
      path: channel.recordingPath,
      bytes: channel.recordingBytes,
      sha256: channel.recordingSha256,
      kind: channel.kind,
      command: channel.command,
      main: channel.recordingPath === session.recordingPath,
    });
  }
  if (!session.recordingPath) return channels;
  const main = channels.find((recording) => recording.main);
  if (main) return [main, ...channels.filter((recording) => recording !== main)];
  const own: RecordingRef = {
    channel: 'main',
    path: session.recordingPath,
    bytes: session.recordingBytes,
    sha256: session.recordingSha256,
    kind: 'session',
    command: null,
    main: true,
  };
  return [own, ...channels];
}

/** A recording by channel id; `main` (or none) is the session's main recording. */
export function pickRecording(detail: SessionDetail, channel: string | undefined): RecordingRef {
  if (channel !== undefined && !/^(main|\d{1,9})$/.test(channel)) throw badRequest('channel: expected "main" or a channel number');
  const recordings = recordingsOf(detail);
  const found =
    channel === undefined ? recordings[0] : channel === 'main' ? recordings.find((recording) => recording.main) : recordings.find((recording) => recording.channel === channel);
  if (!found) throw notFound(channel === undefined ? 'this session has no recording' : `no recording for channel ${channel}`);
  return found;
}

/** A recording of a session the viewer may see, located on disk (the checks of the three above). */
export async function visibleRecording(
  store: Store,
  recordingsDir: string,
  viewer: Viewer,
  sessionId: string,
  channel: string | undefined,
): Promise<{ detail: SessionDetail; recording: RecordingRef; file: RecordingFile }> {
  const detail = await visibleSession(store, viewer, sessionId);
  const recording = pickRecording(detail, channel);
  return { detail, recording, file: await locateRecording(recordingsDir, recording.path) };
}
