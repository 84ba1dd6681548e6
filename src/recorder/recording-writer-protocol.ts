import type { AsciicastHeader } from './asciicast.js';
import type { RecordingEvent } from './recording-file.js';

/** Messages between the gateway thread and the recording writer thread. */
export type ToWriter =
  | { type: 'open'; id: number; path: string; header: AsciicastHeader }
  | { type: 'append'; id: number; events: RecordingEvent[]; bytes: number }
  | { type: 'close'; id: number };

export type FromWriter =
  | { type: 'opened'; id: number }
  | { type: 'appended'; id: number; bytes: number }
  | { type: 'failed'; id: number; error: { code: string; message: string } }
  | { type: 'closed'; id: number; path: string; bytes: number; sha256: string }
  | { type: 'close-failed'; id: number; error: { code: string; message: string } };

export interface WriterInit {
  /** How often dirty recordings are synced to disk. */
  syncIntervalMs: number;
}
