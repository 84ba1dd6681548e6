import { basename } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { SessionChannelRow, SessionDetail } from '../../store/repositories/sessions.js';
import { locateRecordingFile } from '../recording-location.js';
import { typedCommandsIn } from '../recording-commands.js';
import { storyEntry, type StoryContext, type StoryEntry, type StorySource } from './story-model.js';

/**
 * What happened inside sessions: each channel (shell, exec with its command, sftp …) with
 * its recording and exit status, the commands typed in a terminal (when input is recorded;
 * the same detection as the viewer's replay markers), file operations and port forwards.
 */
export const channelSource: StorySource = {
  name: 'channels',
  async entries(context) {
    const entries: StoryEntry[] = [];
    for (const detail of context.sessions) {
      const common = sessionFields(detail);
      for (const channel of detail.channels) {
        const recording = channel.recordingPath ? { file: basename(channel.recordingPath), sha256: channel.recordingSha256 } : null;
        entries.push(
          storyEntry({
            ...common,
            time: channel.startedAt.toISOString(),
            kind: 'channel',
            summary: channelSummary(channel),
            channel_id: channel.channelId,
            recording,
            details: {
              channel_kind: channel.kind,
              command: channel.command,
              pty: channel.pty,
              ended_at: channel.endedAt?.toISOString() ?? null,
              exit_code: channel.exitCode,
              exit_signal: channel.exitSignal,
              recording_bytes: channel.recordingBytes,
            },
          }),
        );
        if (channel.pty && channel.recordingPath) entries.push(...(await typedCommands(context, common, channel, recording)));
      }
      for (const operation of detail.fileOperations) {
        const to = operation.targetPath ? ` -> ${operation.targetPath}` : '';
        const bytes = operation.bytes !== null ? ` (${operation.bytes} bytes)` : '';
        const outcome = operation.result === 'error' ? `: FAILED ${operation.error ?? ''}`.trimEnd() : '';
        entries.push(
          storyEntry({
            ...common,
            time: operation.time.toISOString(),
            kind: 'file',
            summary: `${operation.operation} ${operation.path}${to}${bytes}${outcome}`,
            channel_id: operation.channelId,
            details: { operation: operation.operation, path: operation.path, target_path: operation.targetPath, bytes: operation.bytes, result: operation.result, error: operation.error },
          }),
        );
      }
      for (const forward of detail.portForwards) {
        const verdict = forward.allowed ? `allowed, ${forward.bytesOut} bytes out / ${forward.bytesIn} in` : `REFUSED: ${forward.reason ?? ''}`;
        entries.push(
          storyEntry({
            ...common,
            time: forward.openedAt.toISOString(),
            kind: 'forward',
            summary: `${forward.kind} port forward to ${forward.destHost}:${forward.destPort}${forward.originAddr ? ` from ${forward.originAddr}` : ''} ${verdict}`,
            channel_id: forward.channelId,
            details: { kind: forward.kind, dest_host: forward.destHost, dest_port: forward.destPort, allowed: forward.allowed, reason: forward.reason, closed_at: forward.closedAt?.toISOString() ?? null },
          }),
        );
      }
    }
    return entries;
  },
};

export function sessionFields(detail: SessionDetail) {
  const { session } = detail;
  return {
    identity: session.identityName,
    actor: session.identityName,
    protocol: session.protocol,
    target: session.target,
    session_id: session.id,
    request_id: session.requestId,
    grant_id: session.grantId,
    ticket: session.ticket,
  };
}

function channelSummary(channel: SessionChannelRow): string {
  const what = channel.command ? `${channel.kind} ${channel.command}` : channel.kind;
  const terminal = channel.pty ? ` with a terminal (${channel.pty.term} ${channel.pty.cols}x${channel.pty.rows})` : '';
  const exit = channel.exitSignal ? ` -> signal ${channel.exitSignal}` : channel.exitCode !== null ? ` -> exit ${channel.exitCode}` : channel.endedAt ? '' : ' (running)';
  return `${what}${terminal}${exit}`;
}

async function typedCommands(
  context: StoryContext,
  common: ReturnType<typeof sessionFields>,
  channel: SessionChannelRow,
  recording: StoryEntry['recording'],
): Promise<StoryEntry[]> {
  let commands;
  try {
    const file = await locateRecordingFile(context.recordingsDir, channel.recordingPath);
    commands = await typedCommandsIn(file.realPath, channel.startedAt);
  } catch (err) {
    return [
      storyEntry({
        ...common,
        time: channel.startedAt.toISOString(),
        kind: 'command',
        summary: `typed commands cannot be read from the recording: ${errorMessage(err)}`,
        channel_id: channel.channelId,
        recording,
        details: { unreadable: true },
      }),
    ];
  }
  return commands.map((typed) =>
    storyEntry({
      ...common,
      time: typed.at.toISOString(),
      kind: 'command',
      summary: `$ ${typed.command}`,
      channel_id: channel.channelId,
      recording,
      details: { command: typed.command, offset_seconds: typed.offset },
    }),
  );
}
