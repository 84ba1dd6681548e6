import { errorMessage } from '../../core/errors.js';
import { finalizeRecordingFile, type RecordingDigest } from '../../recorder/recording-finalize.js';
import type { ProxyContext } from '../context.js';

/**
 * After a crash: SSH sessions this node left `live` are marked `interrupted`. Each channel
 * recording is finalized from what reached the disk (a torn last line cut off) and its
 * digest goes into the channel row and the `session.interrupted` audit event, so nothing
 * recorded before the crash is lost or left unverifiable.
 */
export async function recoverSshSessions(context: ProxyContext): Promise<void> {
  const { store, logger } = context;
  const live = (await store.sessions.liveOnNode(context.config.nodeName)).filter((session) => session.protocol === 'ssh');
  for (const session of live) {
    const channelRecordings: Array<{ channelId: number } & RecordingDigest> = [];
    const problems: string[] = [];
    for (const channel of await store.sessions.channels(session.id)) {
      const endedAt = channel.endedAt ?? new Date();
      let digest: RecordingDigest | null = null;
      if (channel.recordingPath) {
        if (channel.recordingSha256 && channel.recordingBytes !== null) {
          digest = { path: channel.recordingPath, bytes: channel.recordingBytes, sha256: channel.recordingSha256 };
        } else {
          try {
            digest = await finalizeRecordingFile(channel.recordingPath);
          } catch (err) {
            problems.push(`channel ${channel.channelId}: ${errorMessage(err)}`);
          }
        }
      }
      if (digest) channelRecordings.push({ channelId: channel.channelId, ...digest });
      if (!channel.endedAt || (digest && !channel.recordingSha256)) {
        await store.sessions.updateChannel(session.id, channel.channelId, {
          endedAt,
          ...(digest ? { recordingBytes: digest.bytes, recordingSha256: digest.sha256 } : {}),
        });
      }
    }
    const reason = `the gateway stopped while the session was live${problems.length ? `; recordings not finalized: ${problems.join('; ')}` : ''}`;
    await context.sessions.end(
      { id: session.id, identityName: session.identityName, target: session.target, protocol: 'ssh' },
      {
        state: 'interrupted',
        reason,
        recording: channelRecordings[0] ? { path: channelRecordings[0].path, bytes: channelRecordings[0].bytes, sha256: channelRecordings[0].sha256 } : null,
        channelRecordings,
        stats: { ...session.stats, recoveredBy: context.config.nodeName },
      },
    );
    logger.warn('recovered an interrupted ssh session', { session: session.id, recordings: channelRecordings.length });
  }
}
