import type { Worker } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { startModuleWorker } from '../core/worker-thread.js';
import { BatchSlots } from './batch-slots.js';
import { ChannelRecorder, DEFAULT_RECORDER_LIMITS, type RecorderLimits } from './channel-recorder.js';
import { RecorderError } from './errors.js';
import { finalizeRecordingFile } from './recording-finalize.js';
import type { RecordingFormat } from './recording-batch.js';
import type { FromWriter, ToWriter, WriterInit } from './recording-writer-protocol.js';
import type { RecordingFailureListener, SessionRecorder } from './session-recorder.js';

export interface RecordingWriterOptions {
  logger?: Logger;
  limits?: Partial<RecorderLimits>;
  /** Recordings are synced to disk at least this often (default 1 s). */
  syncIntervalMs?: number;
}

/** A recording to open: asciicast (`format: 'asciicast'`) or a byte recording (`'bytes'`). */
export type OpenRecording = RecordingFormat & {
  path: string;
  recordInput: boolean;
  onFailure: RecordingFailureListener;
};

/**
 * Owns the recording writer thread and the recorders writing through it. If the thread
 * dies, every open recording fails (their sessions end) and later opens are refused.
 */
export class RecordingWriter {
  private worker: Worker | null = null;
  private readonly recorders = new Map<number, ChannelRecorder>();
  private readonly opening = new Map<number, { resolve(): void; reject(error: RecorderError): void }>();
  private nextId = 1;
  private dead: RecorderError | null = null;
  private readonly logger: Logger;
  private readonly limits: RecorderLimits;
  private slots: BatchSlots | null = null;

  constructor(private readonly options: RecordingWriterOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.limits = { ...DEFAULT_RECORDER_LIMITS, ...options.limits };
  }

  /** Creates the file and writes its header; rejects (RecorderError) if it cannot. */
  async open(request: OpenRecording): Promise<SessionRecorder> {
    if (this.dead) throw this.dead;
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const send = (message: ToWriter, transfer?: ArrayBuffer[]) => this.post(message, transfer);
    const recorder = new ChannelRecorder(id, request.path, request.format, send, this.slots!, request.recordInput, request.onFailure, this.limits);
    this.recorders.set(id, recorder);
    this.updateRef(worker);
    try {
      await new Promise<void>((resolve, reject) => {
        this.opening.set(id, { resolve, reject });
        const format: RecordingFormat = request.format === 'bytes' ? { format: 'bytes', header: request.header } : { format: 'asciicast', header: request.header };
        this.post({ type: 'open', id, path: request.path, ...format });
      });
    } catch (err) {
      this.recorders.delete(id);
      this.updateRef(worker);
      throw err;
    }
    return recorder;
  }

  get openRecordings(): number {
    return this.recorders.size;
  }

  async stop(): Promise<void> {
    const open = [...this.recorders.values()];
    await Promise.allSettled(open.map((recorder) => recorder.close()));
    const worker = this.worker;
    this.worker = null;
    this.dead ??= new RecorderError('recording_failed', 'the recording writer was stopped');
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // A flush carries at most flushBytes plus the chunk that crossed it; the slots hold what
    // one recorder may have in flight (its high-water mark) and a little more. Their pages
    // become resident only once used.
    const slotBytes = this.limits.flushBytes + 64 * 1024;
    this.slots = BatchSlots.create(slotBytes, Math.max(2, Math.ceil(this.limits.highWaterBytes / slotBytes) + 1));
    const init: WriterInit = { syncIntervalMs: this.options.syncIntervalMs ?? 1000, slots: { buffer: this.slots.buffer, slotBytes } };
    const worker = startModuleWorker(new URL('./recording-writer-worker.js', import.meta.url), init);
    worker.on('message', (message: FromWriter) => this.receive(message));
    worker.on('error', (err) => this.die(`the recording writer failed: ${errorMessage(err)}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.die(`the recording writer exited (${code})`);
    });
    this.worker = worker;
    return worker;
  }

  private post(message: ToWriter, transfer: ArrayBuffer[] = []): void {
    if (!this.worker) return;
    this.worker.postMessage(message, transfer);
  }

  private receive(message: FromWriter): void {
    const recorder = this.recorders.get(message.id);
    switch (message.type) {
      case 'opened':
        this.opening.get(message.id)?.resolve();
        this.opening.delete(message.id);
        return;
      case 'appended':
        if (message.slot !== null) this.slots?.give(message.slot);
        recorder?.acknowledged(message.bytes);
        return;
      case 'failed': {
        const error = new RecorderError('recording_failed', message.error.message);
        const opening = this.opening.get(message.id);
        if (opening) {
          this.opening.delete(message.id);
          opening.reject(error);
          return;
        }
        this.logger.error('recording failed', { path: recorder?.path, error: message.error.message });
        recorder?.failed(error);
        return;
      }
      case 'closed':
        this.recorders.delete(message.id);
        recorder?.closed({ path: message.path, bytes: message.bytes, sha256: message.sha256 });
        if (this.worker) this.updateRef(this.worker);
        return;
      case 'close-failed':
        this.recorders.delete(message.id);
        recorder?.closed(new RecorderError('recording_failed', message.error.message));
        if (this.worker) this.updateRef(this.worker);
        return;
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = new RecorderError('recording_failed', reason);
    this.logger.error('recording writer stopped', { reason });
    this.worker = null;
    for (const opening of this.opening.values()) opening.reject(this.dead);
    this.opening.clear();
    for (const recorder of this.recorders.values()) {
      // What reached the disk before the thread died is still evidence: digest it here.
      const digest = finalizeRecordingFile(recorder.path).catch((err: unknown) => {
        throw new RecorderError('recording_failed', `cannot finalize ${recorder.path}: ${errorMessage(err)}`);
      });
      digest.catch(() => undefined);
      recorder.orphaned(digest);
      recorder.failed(this.dead);
    }
    this.recorders.clear();
  }

  /** The thread keeps the process alive only while recordings are open. */
  private updateRef(worker: Worker): void {
    if (this.recorders.size > 0) worker.ref();
    else worker.unref();
  }
}
