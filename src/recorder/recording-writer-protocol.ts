import type { RecordingBatch, RecordingFormat } from './recording-file.js';
import type { ChannelExit } from './session-recorder.js';

/** Messages between the gateway thread and the recording writer thread. */
export type ToWriter =
  | ({ type: 'open'; id: number; path: string } & RecordingFormat)
  /** `batch.data`'s buffer is transferred; `pooled` ones come back with the acknowledgement. */
  | { type: 'append'; id: number; batch: RecordingBatch; bytes: number; pooled: boolean }
  /** `t`: seconds since the recording started, when the channel ended. */
  | { type: 'close'; id: number; exit: ChannelExit | null; t: number };

export type FromWriter =
  | { type: 'opened'; id: number }
  | { type: 'appended'; id: number; bytes: number; buffer: ArrayBuffer | null }
  | { type: 'failed'; id: number; error: { code: string; message: string } }
  | { type: 'closed'; id: number; path: string; bytes: number; sha256: string }
  | { type: 'close-failed'; id: number; error: { code: string; message: string } };

export interface WriterInit {
  /** How often dirty recordings are synced to disk. */
  syncIntervalMs: number;
}
