import { errorMessage } from '../core/errors.js';
import { RecorderError } from './errors.js';

export interface BatchWriterOptions<T> {
  /** Writes one batch: one store round trip. Throwing fails the writer. */
  write(batch: T[]): Promise<void>;
  /** Items per write (default 1000). */
  batchSize?: number;
  /** A partial batch waits at most this long for company (0: the next turn of the event loop). */
  flushDelayMs?: number;
  /** Load (default: items queued) at which the writer reports congestion … */
  highWater: number;
  /** … and below which it stops reporting it (default half the high-water mark). */
  lowWater?: number;
  /** The load congestion is measured on, when more than the queue counts (statements still running). */
  load?: () => number;
  /**
   * While failed, how often writing is retried with the same items (they stay queued and
   * ordered). `null`: a failed batch is handed to `onDropped` and the writer goes on (its
   * callers were told and fail closed).
   */
  retryMs?: number | null;
  /** The failure message prefix ("the query log cannot be written"). */
  what: string;
  /** The RecorderError code of a failure. */
  failureCode: string;
  onWritten?(count: number): void;
  /** The first failure after a success (or after the start). */
  onFailure?(error: RecorderError): void;
  onRecovered?(): void;
  onDropped?(batch: T[], error: RecorderError): void;
}

interface FlushWaiter {
  ticket: number;
  resolve(): void;
  reject(error: RecorderError): void;
}

/**
 * The one bounded writer under the evidence logs (query log, audit log, file-operation log):
 * items are queued in memory and written in batches — a full batch at once, a partial one
 * after `flushDelayMs` — never one round trip per item. Order is kept. The queue is bounded
 * by its owner through the congestion signal (high/low water marks: producers stop reading
 * from their clients) and `whenWritable()`. `flush()` resolves once everything queued before
 * it is written. A failed write either keeps the items and retries (`retryMs`) or drops the
 * batch to its owner (`onDropped`); either way the owner hears of the failure at once.
 */
export class BatchWriter<T> {
  private queue: T[] = [];
  private head = 0;
  private writing: Promise<void> | null = null;
  private timer: { cancel(): void } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Items ever queued and ever settled (written or dropped): FIFO, so flush waits on a ticket. */
  private pushed = 0;
  private settled = 0;
  private failed: RecorderError | null = null;
  private inFlight = 0;
  private congestedNow = false;
  private closed = false;
  private readonly congestionListeners = new Set<(congested: boolean) => void>();
  private writableWaiters: Array<() => void> = [];
  private flushWaiters: FlushWaiter[] = [];
  private readonly batchSize: number;
  private readonly flushDelayMs: number;
  private readonly lowWater: number;

  constructor(private readonly options: BatchWriterOptions<T>) {
    this.batchSize = options.batchSize ?? 1000;
    this.flushDelayMs = options.flushDelayMs ?? 0;
    this.lowWater = options.lowWater ?? Math.floor(options.highWater / 2);
  }

  push(item: T): void {
    this.queue.push(item);
    this.pushed += 1;
    this.schedule();
    this.updateCongestion();
  }

  /** Items waiting or being written. */
  get queued(): number {
    return this.pushed - this.settled;
  }

  /** Items not yet handed to a write. */
  get waiting(): number {
    return this.queue.length - this.head - this.inFlight;
  }

  get failure(): RecorderError | null {
    return this.failed;
  }

  get congested(): boolean {
    return this.congestedNow;
  }

  onCongestion(listener: (congested: boolean) => void): () => void {
    this.congestionListeners.add(listener);
    return () => this.congestionListeners.delete(listener);
  }

  /** Resolves once the load is below the low-water mark (or the writer failed: the owner decides). */
  whenWritable(): Promise<void> {
    if (this.failed || this.load() < this.lowWater) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Re-measures the load (call when the owner's part of it changed). */
  updateCongestion(): void {
    const load = this.load();
    const next = this.congestedNow ? load > this.lowWater : load >= this.options.highWater;
    if (load < this.lowWater && this.writableWaiters.length > 0) {
      for (const resolve of this.writableWaiters.splice(0)) resolve();
    }
    if (next === this.congestedNow) return;
    this.congestedNow = next;
    for (const listener of [...this.congestionListeners]) listener(next);
  }

  /** Resolves once everything queued before the call is written; rejects if the writer fails first. */
  flush(): Promise<void> {
    const ticket = this.pushed;
    if (this.settled >= ticket) return Promise.resolve();
    if (this.failed && this.options.retryMs !== null) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ ticket, resolve, reject });
      this.kick();
    });
  }

  /** Writes what is queued (waiting for it), then stops retrying. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    this.timer?.cancel();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = null;
  }

  private load(): number {
    return this.options.load ? this.options.load() : this.queued;
  }

  private schedule(): void {
    if (this.writing || (this.failed && this.options.retryMs !== null)) return;
    if (this.queue.length - this.head >= this.batchSize) return this.kick();
    if (this.timer) return;
    const fire = () => {
      this.timer = null;
      this.kick();
    };
    if (this.flushDelayMs === 0) {
      const immediate = setImmediate(fire);
      this.timer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(fire, this.flushDelayMs);
      this.timer = { cancel: () => clearTimeout(timeout) };
    }
  }

  private kick(): void {
    if (this.writing) return;
    this.timer?.cancel();
    this.timer = null;
    this.writing = this.writeRounds().finally(() => {
      this.writing = null;
      if (this.queue.length === this.head || (this.failed && this.options.retryMs !== null)) return;
      // Someone waits on flush (it may have asked while this round was finishing): write now.
      if (this.flushWaiters.length > 0) this.kick();
      else this.schedule();
    });
  }

  /**
   * One batch, then more only while a full batch waits or someone waits on flush: a partial
   * batch waits for the timer, so under load the store sees few large writes.
   */
  private async writeRounds(): Promise<void> {
    for (let round = 0; this.queue.length > this.head; round++) {
      const waiting = this.queue.length - this.head;
      if (round > 0 && this.flushWaiters.length === 0 && waiting < this.batchSize) break;
      const batch = this.queue.slice(this.head, this.head + this.batchSize);
      this.inFlight = batch.length;
      try {
        await this.options.write(batch);
      } catch (err) {
        this.inFlight = 0;
        if (this.options.retryMs === null) {
          this.take(batch.length);
          this.options.onDropped?.(batch, this.failure ?? this.toError(err));
          this.fail(err);
          continue;
        }
        this.fail(err);
        return;
      }
      this.inFlight = 0;
      this.take(batch.length);
      this.options.onWritten?.(batch.length);
      this.recovered();
    }
  }

  private take(count: number): void {
    this.head += count;
    this.settled += count;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.updateCongestion();
    for (const waiter of [...this.flushWaiters]) {
      if (this.settled < waiter.ticket) continue;
      this.flushWaiters.splice(this.flushWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  private toError(err: unknown): RecorderError {
    return err instanceof RecorderError ? err : new RecorderError(this.options.failureCode, `${this.options.what}: ${errorMessage(err)}`, { cause: err });
  }

  private fail(err: unknown): void {
    const first = this.failed === null;
    this.failed = this.toError(err);
    if (first) this.options.onFailure?.(this.failed);
    for (const resolve of this.writableWaiters.splice(0)) resolve();
    if (this.options.retryMs === null) return;
    for (const waiter of this.flushWaiters.splice(0)) waiter.reject(this.failed);
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.failed) this.kick();
    }, this.options.retryMs ?? 1000);
    this.retryTimer.unref();
  }

  private recovered(): void {
    if (!this.failed) return;
    this.failed = null;
    this.options.onRecovered?.();
  }
}
