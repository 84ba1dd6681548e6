import type { BatchEvent, RecordingFormat } from './recording-batch.js';
import type { ChannelExit } from './session-recorder.js';

/** Messages between the gateway thread and the recording writer thread. */
export type ToWriter =
  | ({ type: 'open'; id: number; path: string } & RecordingFormat)
  /**
   * The events' bytes are either in a shared slot (`slot`, freed by the acknowledgement) or
   * in `data`, whose buffer is transferred.
   */
  | { type: 'append'; id: number; events: BatchEvent[]; bytes: number; data: Uint8Array | null; slot: { index: number; length: number } | null }
  /** `t`: seconds since the recording started, when the channel ended. */
  | { type: 'close'; id: number; exit: ChannelExit | null; t: number };

export type FromWriter =
  | { type: 'opened'; id: number }
  /** `bytes` written (for backpressure; held while a sync is overdue), `slot` free again. */
  | { type: 'appended'; id: number; bytes: number; slot: number | null }
  | { type: 'failed'; id: number; error: { code: string; message: string } }
  | { type: 'closed'; id: number; path: string; bytes: number; sha256: string }
  | { type: 'close-failed'; id: number; error: { code: string; message: string } };

export interface WriterInit {
  /** How often dirty recordings are synced to disk. */
  syncIntervalMs: number;
  /** The batch slots (BatchSlots) shared with the gateway thread. */
  slots: { buffer: SharedArrayBuffer; slotBytes: number };
}
