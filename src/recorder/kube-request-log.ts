import { silentLogger, type Logger } from '../core/logger.js';
import { kubeRequestCompletionLine, kubeRequestLine, type NewKubeRequestRow } from '../store/kube-request-lines.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
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
  /** Request lines in order: new rows, and completions of rows written when their request started. */
  private readonly writer: BatchWriter<QueuedLine>;
  /** Short requests running and not yet written. */
  private readonly open = new Set<KubeRequestEntry>();
  /** Requests running whose row is written (or queued) already. */
  private openLong = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly failureListeners = new Set<(error: RecorderError) => void>();

  constructor(
    private readonly store: Pick<Store, 'kubeRequests'>,
    private readonly options: KubeRequestLogOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxPending = options.maxPending ?? 100_000;
    this.unfinishedAfterMs = options.unfinishedAfterMs ?? 500;
    this.writer = new BatchWriter<QueuedLine>({
      write: (batch) => this.write(batch),
      batchSize: options.batchRows ?? 2000,
      flushDelayMs: options.maxDelayMs ?? 250,
      highWater: Math.max(1, Math.floor(this.maxPending / 4)),
      load: () => this.pending,
      retryMs: options.retryMs ?? 1000,
      what: 'the Kubernetes request log cannot be written',
      failureCode: 'kube_request_log_failed',
      onWritten: (rows) => options.onWritten?.(rows),
      onFailure: (error) => {
        this.logger.error('kube request log write failed; requests are refused until it recovers', { error });
        options.onFailure?.(error);
        for (const listener of [...this.failureListeners]) listener(error);
      },
      onRecovered: () => this.logger.info('kube request log writes work again', {}),
    });
  }

  /** Requests held in memory: running, waiting to be written, or being written. */
  get pending(): number {
    return this.writer.queued + this.open.size + this.openLong;
  }

  get failed(): RecorderError | null {
    return this.writer.failure;
  }

  onFailure(listener: (error: RecorderError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Records a decided request. Throws RecorderError when it cannot be recorded: the request must then be refused. */
  begin(start: KubeRequestStart): KubeRequestEntry {
    const failure = this.writer.failure;
    if (failure) throw failure;
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
    return this.writer.flush();
  }

  /** Writes what is left (requests still running are written as they stand) and stops the timers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.open) {
      this.openLong += 1;
      this.queueInsert(entry);
    }
    this.open.clear();
    await this.writer.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** @internal */
  settle(entry: KubeRequestEntry, outcome: KubeRequestOutcome): void {
    const durationMs = Math.round((performance.now() - entry.startMono) * 1000) / 1000;
    const details = outcome.details ? { ...entry.row.details, ...outcome.details } : entry.row.details;
    const reason = outcome.reason ?? entry.row.reason;
    if (entry.written) {
      this.openLong -= 1;
      this.writer.push({
        completion: true,
        line: kubeRequestCompletionLine({
          sessionId: entry.row.sessionId,
          seq: entry.row.seq,
          code: outcome.code,
          durationMs,
          requestBytes: outcome.requestBytes,
          responseBytes: outcome.responseBytes,
          reason: outcome.reason ?? null,
          details: outcome.details ?? null,
        }),
      });
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
      this.writer.push({ completion: false, line: kubeRequestLine(row) });
    }
  }

  private queueInsert(entry: KubeRequestEntry): void {
    entry.written = true;
    this.writer.push({ completion: false, line: kubeRequestLine(entry.row) });
  }

  /** One batch, one round trip: each completion follows its row in the queue (written earlier, or earlier in this batch). */
  private async write(batch: QueuedLine[]): Promise<void> {
    const inserts: string[] = [];
    const completions: string[] = [];
    for (const item of batch) (item.completion ? completions : inserts).push(item.line);
    await this.store.kubeRequests.writeBatch(inserts.length ? `[${inserts.join(',')}]` : null, completions.length ? `[${completions.join(',')}]` : null);
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

interface QueuedLine {
  line: string;
  /** The outcome of a row written when its request started (an update, not a new row). */
  completion: boolean;
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
