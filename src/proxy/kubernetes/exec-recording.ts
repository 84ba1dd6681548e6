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
  return writer.open({ path: request.path, header: header(request, { TERM: 'xterm' }), recordInput: request.recordInput, onFailure: request.onFailure });
}

/**
 * An exec or attach without a tty (`kubectl exec` without -t, `kubectl cp`): stdout and
 * stderr recorded the way SSH records a channel without a pty today, through the asciicast
 * writer with `pty: false` in the header. This is the one place to switch to the binary-safe
 * channel format when it lands.
 */
export function openStreamRecording(writer: RecordingWriter, request: ExecRecordingRequest): Promise<SessionRecorder> {
  return writer.open({ path: request.path, header: header(request, {}), recordInput: request.recordInput, onFailure: request.onFailure });
}

function header(request: ExecRecordingRequest, env: Record<string, string>): AsciicastHeader {
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
