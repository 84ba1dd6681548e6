import { unzeroed, type BatchSlots } from './batch-slots.js';
import { RecorderError } from './errors.js';
import type { BatchEvent, RecordedCode, RecordingFormat } from './recording-batch.js';
import type { ToWriter } from './recording-writer-protocol.js';
import type { ChannelExit, OutputStream, RecordingDigest, RecordingFailureListener, SessionRecorder } from './session-recorder.js';

export interface RecorderLimits {
  /** Output arriving within this window becomes one event (one asciicast line, one frame). */
  windowMs: number;
  /** An event is cut at this many bytes (a new one starts with the same window). */
  maxEventBytes: number;
  /** Pending bytes that trigger a write before the window ends. */
  flushBytes: number;
  /** Bytes handed over but not yet written at which producers are asked to pause. */
  highWaterBytes: number;
}

export const DEFAULT_RECORDER_LIMITS: RecorderLimits = {
  windowMs: 25,
  maxEventBytes: 256 * 1024,
  flushBytes: 1024 * 1024,
  highWaterBytes: 8 * 1024 * 1024,
};

interface PendingEvent {
  t: number;
  code: RecordedCode;
  text: string | null;
  bytes: number;
}

/** Where a window's bytes start: enough for typing and prompts, no large buffer held for them. */
const SMALL_BATCH_BYTES = 16 * 1024;

type Send = (message: ToWriter, transfer?: ArrayBuffer[]) => void;

/**
 * The gateway-thread half of a recording, whatever its format: coalesces bytes into events
 * per short window, hands each flush to the writer thread as one batch, and tracks how much
 * is still unwritten for backpressure. The writer thread does the encoding and I/O.
 *
 * Bytes are copied once, as they arrive, into the buffer the writer thread reads the batch
 * from: a small one of its own (transferred), then a shared slot once output is bulk (a
 * buffer of its own when every slot is in flight). The network's chunks are not kept until
 * the flush.
 */
export class ChannelRecorder implements SessionRecorder {
  failure: RecorderError | null = null;
  /** Time zero of the event times, as a date and on the monotonic clock the times are measured with. */
  readonly startedAt = new Date();
  private readonly startedAtMs = performance.now();
  private readonly stderrCode: RecordedCode;
  private events: PendingEvent[] = [];
  /** The bytes of the pending events, back to back. */
  private batch: Uint8Array | null = null;
  private batchSlot: number | null = null;
  private batchUsed = 0;
  private pendingBytes = 0;
  private unwritten = 0;
  private timer: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];
  private closing: Promise<RecordingDigest> | null = null;
  private resolveClose: ((digest: RecordingDigest) => void) | null = null;
  private orphanDigest: Promise<RecordingDigest> | null = null;
  private rejectClose: ((error: RecorderError) => void) | null = null;

  constructor(
    readonly id: number,
    readonly path: string,
    format: RecordingFormat['format'],
    private readonly send: Send,
    private readonly slots: BatchSlots,
    private readonly recordInput: boolean,
    private readonly onFailure: RecordingFailureListener,
    private readonly limits: RecorderLimits = DEFAULT_RECORDER_LIMITS,
  ) {
    // A terminal has one output stream; a byte recording keeps stderr apart.
    this.stderrCode = format === 'bytes' ? 'e' : 'o';
  }

  output(data: Buffer, stream: OutputStream = 'stdout'): boolean {
    return this.push(stream === 'stderr' ? this.stderrCode : 'o', data);
  }

  input(data: Buffer): boolean {
    if (!this.recordInput) return true;
    return this.push('i', data);
  }

  resize(cols: number, rows: number): void {
    this.pushText('r', `${cols}x${rows}`);
  }

  marker(label: string): void {
    this.pushText('m', label);
  }

  whenWritable(): Promise<void> {
    if (this.failure || this.unwritten < this.limits.highWaterBytes / 2) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(exit?: ChannelExit | null): Promise<RecordingDigest> {
    if (this.orphanDigest) return (this.closing ??= this.orphanDigest);
    return (this.closing ??= new Promise<RecordingDigest>((resolve, reject) => {
      this.flush();
      this.resolveClose = resolve;
      this.rejectClose = reject;
      this.send({ type: 'close', id: this.id, exit: exit ?? null, t: this.elapsed() });
    }));
  }

  /** Writer thread: a batch was written (or dropped after a failure). */
  acknowledged(bytes: number): void {
    this.unwritten -= bytes;
    if (this.unwritten < this.limits.highWaterBytes / 2) this.releaseWaiters();
  }

  /** Writer thread (or its death): the recording cannot be written any more. */
  failed(error: RecorderError): void {
    if (this.failure) return;
    this.failure = error;
    this.releaseWaiters();
    this.onFailure(error);
  }

  /**
   * The writer thread is gone: the recording is finalized from what is on disk instead,
   * and `close` (called now or later) resolves with that digest.
   */
  orphaned(digest: Promise<RecordingDigest>): void {
    this.orphanDigest = digest;
    if (this.resolveClose) digest.then(this.resolveClose, this.rejectClose ?? undefined);
    this.resolveClose = this.rejectClose = null;
  }

  closed(digest: RecordingDigest | RecorderError): void {
    if (digest instanceof RecorderError) this.rejectClose?.(digest);
    else this.resolveClose?.(digest);
    this.resolveClose = this.rejectClose = null;
  }

  private push(code: RecordedCode, data: Buffer): boolean {
    if (this.closing || data.length === 0) return true;
    if (this.batchUsed + data.length > this.slots.slotBytes) this.flush();
    this.store(data);
    const last = this.events.at(-1);
    if (last && last.code === code && last.text === null && last.bytes < this.limits.maxEventBytes) {
      last.bytes += data.length;
    } else {
      this.events.push({ t: this.elapsed(), code, text: null, bytes: data.length });
    }
    this.pendingBytes += data.length;
    this.unwritten += data.length;
    this.schedule();
    return this.unwritten < this.limits.highWaterBytes;
  }

  /** Copies `data` after the batch's bytes, moving to a larger buffer when it does not fit. */
  private store(data: Buffer): void {
    const needed = this.batchUsed + data.length;
    if (!this.batch || needed > this.batch.length) {
      // push flushed first if the bytes would not fit in a slot.
      const large = needed <= this.slots.slotBytes && (this.batch !== null || needed > SMALL_BATCH_BYTES);
      const slot = large ? this.slots.take() : null;
      const next = slot !== null ? this.slots.view(slot) : unzeroed(large ? this.slots.slotBytes : Math.max(needed, SMALL_BATCH_BYTES));
      if (this.batch) next.set(this.batch.subarray(0, this.batchUsed));
      this.batch = next;
      this.batchSlot = slot;
    }
    this.batch.set(data, this.batchUsed);
    this.batchUsed = needed;
  }

  private pushText(code: 'r' | 'm', text: string): void {
    if (this.closing) return;
    this.events.push({ t: this.elapsed(), code, text, bytes: text.length });
    this.pendingBytes += text.length;
    this.unwritten += text.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.pendingBytes >= this.limits.flushBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.limits.windowMs);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.events.length === 0) return;
    const events: BatchEvent[] = this.events.map((event) =>
      event.text !== null ? { t: event.t, code: event.code, text: event.text } : { t: event.t, code: event.code, length: event.bytes },
    );
    // Handed to the writer thread without another copy: shared, or transferred.
    if (this.batchSlot !== null) {
      this.send({ type: 'append', id: this.id, events, bytes: this.pendingBytes, data: null, slot: { index: this.batchSlot, length: this.batchUsed } });
    } else {
      const data = this.batch ? this.batch.subarray(0, this.batchUsed) : null;
      this.send({ type: 'append', id: this.id, events, bytes: this.pendingBytes, data, slot: null }, data ? [data.buffer as ArrayBuffer] : []);
    }
    this.events = [];
    this.batch = null;
    this.batchSlot = null;
    this.batchUsed = 0;
    this.pendingBytes = 0;
  }

  private releaseWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private elapsed(): number {
    return (performance.now() - this.startedAtMs) / 1000;
  }
}
