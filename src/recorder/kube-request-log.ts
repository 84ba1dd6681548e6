import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { kubeRequestCompletionLine, kubeRequestLine, type NewKubeRequestRow } from '../store/kube-request-lines.js';
import type { Store } from '../store/store.js';
import { RecorderError } from './errors.js';

/** What is known of a request when the gateway has decided it. */
export type KubeRequestStart = Omit<NewKubeRequestRow, 'startedAt' | 'code' | 'durationMs' | 'requestBytes' | 'responseBytes'> & {
  /** Written at once (watch, `logs -f`, exec, attach, port-forward) instead of when it ends. */
  longRunning: boolean;
};

export interface KubeRequestOutcome {
  code: number | null;
  requestBytes: number;
  responseBytes: number;
  /** How it failed or why it was ended, if it did not simply complete. */
  reason?: string | null;
  /** Merged over the details given at the start. */
  details?: Record<string, unknown> | null;
}

export interface KubeRequestLogOptions {
  logger?: Logger;
  /** Requests held in memory at most (running unwritten, or waiting to be written); beyond it new ones are refused. */
  maxPending?: number;
  /** A short request still running after this long is written (without its outcome) and completed later. */
  unfinishedAfterMs?: number;
  /** A batch is written once it has this many rows … */
  batchRows?: number;
  /** … or once its oldest row has waited this long. */
  maxDelayMs?: number;
  /** While failed, how often writing is retried. */
  retryMs?: number;
  onFailure?: (error: RecorderError) => void;
  onWritten?: (rows: number) => void;
}

/** One request from its decision to its outcome. */
export class KubeRequestEntry {
  /** The row is in the store, or queued to be (its outcome then goes as a completion). */
  written = false;
  private ended = false;
  readonly startMono = performance.now();

  constructor(
    private readonly log: KubeRequestLog,
    readonly row: NewKubeRequestRow,
  ) {}

  /** The request is over: its code, bytes and duration are written (once). */
  end(outcome: KubeRequestOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.log.settle(this, outcome);
  }
}

/**
 * The Kubernetes request log: every API request that reached the gateway with an identity
 * becomes a row in the store's `kube_requests` table. Nothing on the request path waits for
 * the store: rows are queued in memory and written in batches (one multi-row insert each)
 * within `maxDelayMs` (250 ms: fewer, larger inserts cost the store less per row); long-running requests are written when they start and completed
 * when they end, and a short one still running after `unfinishedAfterMs` is written early
 * too, so a crash loses at most about a second of evidence. Memory is bounded
 * (`maxPending`). When the store cannot be written the log fails: `begin` refuses (the
 * gateway answers 503), listeners are told (they end what is running), and writing is
 * retried until it works again.
 */
export class KubeRequestLog {
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly unfinishedAfterMs: number;
  private readonly batchRows: number;
  private readonly maxDelayMs: number;
  private readonly retryMs: number;
  private inserts: string[] = [];
  private completions: string[] = [];
  /** Short requests running and not yet written. */
  private readonly open = new Set<KubeRequestEntry>();
  /** Requests running whose row is written (or queued) already. */
  private openLong = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private failure: RecorderError | null = null;
  private closed = false;
  private flushWaiters: Array<{ resolve(): void; reject(error: RecorderError): void }> = [];
  private readonly failureListeners = new Set<(error: RecorderError) => void>();

  constructor(
    private readonly store: Pick<Store, 'kubeRequests'>,
    private readonly options: KubeRequestLogOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxPending = options.maxPending ?? 100_000;
    this.unfinishedAfterMs = options.unfinishedAfterMs ?? 500;
    this.batchRows = options.batchRows ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 250;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Requests held in memory: running, waiting to be written, or being written. */
  get pending(): number {
    return this.inserts.length + this.completions.length + this.open.size + this.openLong;
  }

  get failed(): RecorderError | null {
    return this.failure;
  }

  onFailure(listener: (error: RecorderError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Records a decided request. Throws RecorderError when it cannot be recorded: the request must then be refused. */
  begin(start: KubeRequestStart): KubeRequestEntry {
    if (this.failure) throw this.failure;
    if (this.closed) throw new RecorderError('kube_request_log_failed', 'the request log is closed');
    if (this.pending >= this.maxPending) throw new RecorderError('kube_request_log_overloaded', 'the request log is too far behind to record more requests');
    const entry = new KubeRequestEntry(this, rowOf(start));
    if (start.longRunning) {
      this.openLong += 1;
      this.queueInsert(entry);
    } else {
      this.open.add(entry);
      this.ensureSweep();
    }
    return entry;
  }

  /** Resolves once everything queued before the call is written; rejects if the log fails first. */
  flush(): Promise<void> {
    if (this.inserts.length + this.completions.length === 0 && !this.writing) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Writes what is left (requests still running are written as they stand) and stops the timers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.open) {
      this.openLong += 1;
      this.queueInsert(entry);
    }
    this.open.clear();
    await this.flush().catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.timer = this.sweepTimer = null;
  }

  /** @internal */
  settle(entry: KubeRequestEntry, outcome: KubeRequestOutcome): void {
    const durationMs = Math.round((performance.now() - entry.startMono) * 1000) / 1000;
    const details = outcome.details ? { ...entry.row.details, ...outcome.details } : entry.row.details;
    const reason = outcome.reason ?? entry.row.reason;
    if (entry.written) {
      this.openLong -= 1;
      this.completions.push(
        kubeRequestCompletionLine({
          sessionId: entry.row.sessionId,
          seq: entry.row.seq,
          code: outcome.code,
          durationMs,
          requestBytes: outcome.requestBytes,
          responseBytes: outcome.responseBytes,
          reason: outcome.reason ?? null,
          details: outcome.details ?? null,
        }),
      );
    } else {
      this.open.delete(entry);
      entry.written = true;
      const row = entry.row;
      row.code = outcome.code;
      row.durationMs = durationMs;
      row.requestBytes = outcome.requestBytes;
      row.responseBytes = outcome.responseBytes;
      row.reason = reason;
      row.details = details;
      this.inserts.push(kubeRequestLine(row));
    }
    this.schedule();
  }

  private queueInsert(entry: KubeRequestEntry): void {
    entry.written = true;
    this.inserts.push(kubeRequestLine(entry.row));
    this.schedule();
  }

  private schedule(): void {
    if (this.writing || this.failure) return;
    if (this.inserts.length + this.completions.length >= this.batchRows) this.kick();
    else
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.maxDelayMs);
  }

  private kick(): void {
    if (this.writing) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing = this.writeAll().finally(() => {
      this.writing = null;
      if (this.failure) return;
      if (this.inserts.length + this.completions.length > 0) this.schedule();
      else this.releaseWaiters();
    });
  }

  /**
   * Writes everything queued: the inserts, then the completions taken at the same moment
   * (each completion's row was queued before it, so it is among these inserts or earlier).
   */
  private async writeAll(): Promise<void> {
    while (this.inserts.length + this.completions.length > 0) {
      const inserts = this.inserts.splice(0);
      const completions = this.completions.splice(0);
      for (let at = 0; at < inserts.length; at += this.batchRows) {
        const batch = inserts.slice(at, at + this.batchRows);
        try {
          await this.store.kubeRequests.insertBatch(`[${batch.join(',')}]`);
        } catch (err) {
          this.inserts.unshift(...inserts.slice(at));
          this.completions.unshift(...completions);
          return this.fail(err);
        }
        this.options.onWritten?.(batch.length);
      }
      for (let at = 0; at < completions.length; at += this.batchRows) {
        try {
          await this.store.kubeRequests.completeBatch(`[${completions.slice(at, at + this.batchRows).join(',')}]`);
        } catch (err) {
          this.completions.unshift(...completions.slice(at));
          return this.fail(err);
        }
      }
      this.recovered();
      if (this.flushWaiters.length === 0 && this.inserts.length + this.completions.length < this.batchRows) break;
    }
  }

  private fail(err: unknown): void {
    const first = this.failure === null;
    this.failure = new RecorderError('kube_request_log_failed', `the Kubernetes request log cannot be written: ${errorMessage(err)}`, { cause: err });
    if (first) {
      this.logger.error('kube request log write failed; requests are refused until it recovers', { error: this.failure });
      this.options.onFailure?.(this.failure);
      for (const listener of [...this.failureListeners]) listener(this.failure);
    }
    for (const waiter of this.flushWaiters.splice(0)) waiter.reject(this.failure);
    if (!this.closed) setTimeout(() => this.kick(), this.retryMs).unref();
  }

  private recovered(): void {
    if (!this.failure) return;
    this.logger.info('kube request log writes work again', {});
    this.failure = null;
  }

  private releaseWaiters(): void {
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve();
  }

  /** Short requests that have been running for a while are written without their outcome. */
  private ensureSweep(): void {
    if (this.sweepTimer || this.closed) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.unfinishedAfterMs / 2)));
    this.sweepTimer.unref();
  }

  private sweep(): void {
    if (this.open.size === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      return;
    }
    const cutoff = performance.now() - this.unfinishedAfterMs;
    for (const entry of this.open) {
      if (entry.startMono > cutoff) continue;
      this.open.delete(entry);
      this.openLong += 1;
      this.queueInsert(entry);
    }
  }
}

/** The row of a request as it starts (property by property: the request path builds one per request). */
function rowOf(start: KubeRequestStart): NewKubeRequestRow {
  return {
    sessionId: start.sessionId,
    seq: start.seq,
    identityId: start.identityId,
    identityName: start.identityName,
    target: start.target,
    method: start.method,
    verb: start.verb,
    apiGroup: start.apiGroup,
    apiVersion: start.apiVersion,
    resource: start.resource,
    subresource: start.subresource,
    namespace: start.namespace,
    name: start.name,
    path: start.path,
    decision: start.decision,
    reason: start.reason,
    kubeUser: start.kubeUser,
    kubeGroups: start.kubeGroups,
    startedAt: new Date(),
    code: null,
    durationMs: null,
    requestBytes: null,
    responseBytes: null,
    clientAddr: start.clientAddr,
    userAgent: start.userAgent,
    details: start.details,
  };
}
