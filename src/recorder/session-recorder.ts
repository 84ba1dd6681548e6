import type { RecorderError } from './errors.js';
import type { RecordingDigest } from './recording-finalize.js';

export type { RecordingDigest } from './recording-finalize.js';

export type OutputStream = 'stdout' | 'stderr';

/**
 * The recorder of one channel (DESIGN.md "SessionRecorder"): asciicast for a terminal, a
 * byte recording for a channel without one (the writer picks by format). Bytes are handed
 * over before they are forwarded; `output`/`input` return false when the queue is over its
 * bound — the caller then stops reading from the side producing the bytes until
 * `whenWritable()` resolves. `close` is the one moment a recording is final.
 */
export interface SessionRecorder {
  readonly path: string;
  /** Time zero of the recording's event times (a channel row's start, so typed commands can be dated). */
  readonly startedAt?: Date;
  /** Set once writing failed; the session must end (fail closed). */
  readonly failure: RecorderError | null;
  /** Stderr is kept apart in a byte recording; a terminal's recording has one output stream. */
  output(data: Buffer, stream?: OutputStream): boolean;
  /** Recorded only when the decision says so (`recordInput`); otherwise ignored. */
  input(data: Buffer): boolean;
  resize(cols: number, rows: number): void;
  /** A named point in the recording (asciicast "m" event, byte recording "m" frame). */
  marker(label: string): void;
  /** Resolves once the queue is below its low-water mark again (or the recorder failed). */
  whenWritable(): Promise<void>;
  /** Writes the exit status (asciicast: a last marker; bytes: an "x" frame) and makes the file final. */
  close(exit?: ChannelExit | null): Promise<RecordingDigest>;
}

export interface ChannelExit {
  code: number | null;
  signal: string | null;
}

export function describeExit(exit: ChannelExit): string {
  if (exit.signal) return `exit signal ${exit.signal}`;
  return `exit status ${exit.code ?? 'unknown'}`;
}

export type RecordingFailureListener = (error: RecorderError) => void;
