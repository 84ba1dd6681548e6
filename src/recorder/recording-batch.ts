import type { AsciicastHeader } from './asciicast.js';
import type { ByteRecordingHeader } from './byte-recording.js';
import type { ChannelExit } from './session-recorder.js';

/**
 * What a recorder hands the writer thread: "o" output (stdout), "e" stderr, "i" input,
 * "r" resize, "m" marker. Asciicast has no stderr: its recorders send stderr as "o".
 */
export type RecordedCode = 'o' | 'e' | 'i' | 'r' | 'm';

export type BatchEvent =
  /** Seconds since the recording started; the next `length` bytes of the batch's data. */
  | { t: number; code: RecordedCode; length: number; text?: undefined }
  | { t: number; code: RecordedCode; text: string };

/** Events of one flush; the bytes of all byte events back to back in `data` (transferred). */
export interface RecordingBatch {
  data: Uint8Array;
  events: BatchEvent[];
}

export type RecordingFormat =
  | { format: 'asciicast'; header: AsciicastHeader }
  /** Channels without a terminal: byte-exact frames (byte-recording.ts). */
  | { format: 'bytes'; header: ByteRecordingHeader };

/** One recording file being written by the writer thread, in its format. */
export interface RecordingFileWriter {
  append(batch: RecordingBatch): void;
  /** Flushes what was written to disk without stopping further appends (AppendOnlyFile). */
  syncInBackground(): Promise<void>;
  /** Writes the exit status (at `t` seconds) and what is still held, syncs, closes; returns size and digest. */
  close(exit: ChannelExit | null, t: number): Promise<{ bytes: number; sha256: string }>;
  closeQuietly(): void;
}
