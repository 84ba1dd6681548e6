import type { AsciicastHeader, RecordingTags } from '../../recorder/asciicast.js';
import type { RecordingWriter } from '../../recorder/recording-writer.js';
import type { RecordingFailureListener, SessionRecorder } from '../../recorder/session-recorder.js';

export interface ExecRecordingRequest {
  path: string;
  tags: RecordingTags;
  title: string;
  command: string | null;
  recordInput: boolean;
  onFailure: RecordingFailureListener;
}

/** kubectl sends the terminal size right after connecting; until then the recording assumes this. */
const DEFAULT_SIZE = { cols: 80, rows: 24 };

/** An exec or attach with a tty: an asciicast recording like an SSH shell (resizes become `r` events). */
export function openTerminalRecording(writer: RecordingWriter, request: ExecRecordingRequest): Promise<SessionRecorder> {
  return writer.open({ path: request.path, format: 'asciicast', header: terminalHeader(request), recordInput: request.recordInput, onFailure: request.onFailure });
}

/**
 * An exec or attach without a tty (`kubectl exec` without -t, `kubectl cp`): stdout, stderr
 * (and stdin where the role says so) recorded byte-exact as they passed, like an SSH channel
 * without a pty (`.bytes`, see recorder/byte-recording.ts), with the exit status.
 */
export function openStreamRecording(writer: RecordingWriter, request: ExecRecordingRequest): Promise<SessionRecorder> {
  return writer.open({
    path: request.path,
    format: 'bytes',
    header: {
      version: 1,
      timestamp: Math.floor(Date.now() / 1000),
      title: request.title,
      ...(request.command !== null ? { command: request.command } : {}),
      env: {},
      custos: request.tags,
    },
    recordInput: request.recordInput,
    onFailure: request.onFailure,
  });
}

/** The file a recording is written to: `.cast` for a terminal, `.bytes` otherwise. */
export function recordingFileName(sessionId: string, channelId: number, tty: boolean): string {
  return `${sessionId}.${channelId}.${tty ? 'cast' : 'bytes'}`;
}

function terminalHeader(request: ExecRecordingRequest): AsciicastHeader {
  const env = { TERM: 'xterm' };
  return {
    version: 2,
    width: DEFAULT_SIZE.cols,
    height: DEFAULT_SIZE.rows,
    timestamp: Math.floor(Date.now() / 1000),
    title: request.title,
    ...(request.command !== null ? { command: request.command } : {}),
    env,
    custos: request.tags,
  };
}
