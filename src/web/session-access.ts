import type { SessionDetail } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { badRequest, notFound } from './errors.js';
import { inScope, scopeFor } from './viewer-context.js';
import type { Viewer } from './web-sessions.js';

/** A session the viewer may see, or 403 (no session rights) / 404 (unknown or not theirs). */
export async function visibleSession(store: Store, viewer: Viewer, id: string): Promise<SessionDetail> {
  const scope = await scopeFor(store, viewer, viewer.rights.sessions, 'sessions');
  const detail = id.length <= 100 ? await store.sessions.detail(id) : null;
  // Another identity's session is reported exactly like a missing one: no existence oracle.
  if (!detail || !inScope(scope, detail.session.identityId)) throw notFound(`no session ${id}`);
  return detail;
}

export interface RecordingRef {
  /** `main` for the session's recording, else the channel id. */
  channel: string;
  path: string;
  bytes: number | null;
  sha256: string | null;
  kind: string;
  command: string | null;
}

/** The session's recordings: its main recording, then each channel's. */
export function recordingsOf(detail: SessionDetail): RecordingRef[] {
  const out: RecordingRef[] = [];
  const { session } = detail;
  if (session.recordingPath) {
    out.push({ channel: 'main', path: session.recordingPath, bytes: session.recordingBytes, sha256: session.recordingSha256, kind: 'session', command: null });
  }
  for (const channel of detail.channels) {
    if (!channel.recordingPath) continue;
    out.push({
      channel: String(channel.channelId),
      path: channel.recordingPath,
      bytes: channel.recordingBytes,
      sha256: channel.recordingSha256,
      kind: channel.kind,
      command: channel.command,
    });
  }
  return out;
}

export function pickRecording(detail: SessionDetail, channel: string | undefined): RecordingRef {
  if (channel !== undefined && !/^(main|\d{1,9})$/.test(channel)) throw badRequest('channel: expected "main" or a channel number');
  const recordings = recordingsOf(detail);
  const found = channel === undefined ? recordings[0] : recordings.find((recording) => recording.channel === channel);
  if (!found) throw notFound(channel === undefined ? 'this session has no recording' : `no recording for channel ${channel}`);
  return found;
}
