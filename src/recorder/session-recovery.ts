import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { finalizeRecordingFile, type RecordingDigest } from './recording-finalize.js';
import type { SessionLog } from './session-log.js';

/**
 * After a crash: sessions this node left `live`, of every protocol, are marked
 * `interrupted`. Each channel recording is finalized from what reached the disk (a torn last
 * line or frame cut off) and its digest goes into the channel row and the
 * `session.interrupted` event, so nothing recorded before the crash is lost or left
 * unverifiable. Statements a PostgreSQL session left `unfinished` stay so: that is the truth.
 */
export async function recoverInterruptedSessions(log: SessionLog, node: string, logger: Logger): Promise<number> {
  const live = await log.liveOnNode(node);
  for (const session of live) {
    const channelRecordings: Array<{ channelId: number } & RecordingDigest> = [];
    const problems: string[] = [];
    for (const channel of await log.channels(session.id)) {
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
        await log.updateChannel(session.id, channel.channelId, {
          endedAt,
          ...(digest ? { recordingBytes: digest.bytes, recordingSha256: digest.sha256 } : {}),
        });
      }
    }
    const reason = `the gateway stopped while the session was live${problems.length ? `; recordings not finalized: ${problems.join('; ')}` : ''}`;
    const main = channelRecordings[0];
    await log.end(session, {
      state: 'interrupted',
      reason,
      recording: main ? { path: main.path, bytes: main.bytes, sha256: main.sha256 } : null,
      channelRecordings,
      stats: { ...session.stats, recoveredBy: node },
    });
    logger.warn('recovered an interrupted session', { session: session.id, protocol: session.protocol, recordings: channelRecordings.length });
  }
  return live.length;
}
