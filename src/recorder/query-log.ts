import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { CapturedParam } from '../core/captured-param.js';
import { queryCopyLine, queryCopyPrefix } from '../store/query-copy-lines.js';
import { queryCompletionLine, queryLinePrefix, queryRowLine } from '../store/query-lines.js';
import type { NewQueryRow, QueryRow } from '../store/repositories/queries.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
import { RecorderError } from './errors.js';
import { QueryDigest } from './query-digest.js';

export type StatementStatus = QueryRow['status'];
export type StatementProtocol = QueryRow['protocol'];

export interface QuerySessionMeta {
  sessionId: string;
  identityId: string;
  identityName: string;
  target: string;
  database: string;
  dbUser: string;
}

export interface StatementStart {
  protocol: StatementProtocol;
  statement: string;
  params?: CapturedParam[] | null;
  details?: Record<string, unknown> | null;
}

export interface StatementOutcome {
  status: Exclude<StatementStatus, 'unfinished'> | 'unfinished';
  commandTag?: string | null;
  rowCount?: number | null;
  sqlstate?: string | null;
  errorMessage?: string | null;
  /** Merged over the details given at start. */
  details?: Record<string, unknown> | null;
}

export interface SessionQueryStats {
  statements: number;
  ok: number;
  error: number;
  skipped: number;
  cancelled: number;
  unfinished: number;
  /** Running sha256 over the session's rows in seq order (see query-digest.ts). */
  digest: string;
  /** Set when some rows could not be confirmed written. */
  writeError?: string;
}

export interface QueryLogOptions {
  logger?: Logger;
  /** Captured statements held in memory at most (open, waiting or being written); beyond it new statements are refused. */
  maxPending?: number;
  /** Statements still running after this long are written as `unfinished` (and completed later). */
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

/** One captured statement, from the moment it is sent upstream until its outcome is known. */
export class CapturedStatement {
  finished = false;
  /** 0: only in memory, 1: written as unfinished, 2: written with its outcome. */
  written: 0 | 1 | 2 = 0;
  row: NewQueryRow;

  constructor(
    readonly session: SessionQueries,
    seq: number,
    start: StatementStart,
    readonly startMono: number,
    startedAt: Date,
  ) {
    const meta = session.meta;
    this.row = {
      sessionId: meta.sessionId,
      seq,
      identityId: meta.identityId,
      identityName: meta.identityName,
      target: meta.target,
      database: meta.database,
      dbUser: meta.dbUser,
      protocol: start.protocol,
      statement: start.statement,
      params: start.params ?? null,
      startedAt,
      durationMs: null,
      commandTag: null,
      rowCount: null,
      status: 'unfinished',
      sqlstate: null,
      errorMessage: null,
      details: start.details ?? null,
    };
  }

  get seq(): number {
    return this.row.seq;
  }
}

/**
 * The PostgreSQL query log: every captured statement becomes a row in the store's `queries`
 * table. Capture never waits for the store: statements are queued in memory and written in
 * batches (one COPY each) at most `maxDelayMs` after they finish. A finished row is serialized
 * at once (its COPY line waits for the batch, its digest line for the next few rows): the
 * strings are all that stays in memory, so the collector has little to carry. Statements
 * still running after `unfinishedAfterMs` are written as `unfinished` and completed later, so
 * a crash loses at most about a second of evidence. Memory is bounded: above a high-water mark
 * the log reports congestion (proxies stop reading from clients), at `maxPending` it refuses
 * new statements. If the store cannot be written the log fails: listeners end their
 * sessions, new statements are refused, and writing is retried until it works again.
 */
export class QueryLog {
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly unfinishedAfterMs: number;
  /** In capture order: new rows, and completions of rows written unfinished. */
  private readonly writer: BatchWriter<QueuedLine>;
  private openCount = 0;
  private readonly sessions = new Set<SessionQueries>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly failureListeners = new Set<(error: RecorderError) => void>();

  constructor(
    private readonly store: Pick<Store, 'queries'>,
    private readonly options: QueryLogOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxPending = options.maxPending ?? 100_000;
    this.unfinishedAfterMs = options.unfinishedAfterMs ?? 500;
    this.writer = new BatchWriter<QueuedLine>({
      write: (batch) => this.write(batch),
      batchSize: options.batchRows ?? 2000,
      flushDelayMs: options.maxDelayMs ?? 100,
      highWater: Math.max(1, Math.floor(this.maxPending / 4)),
      load: () => this.pending,
      retryMs: options.retryMs ?? 1000,
      what: 'the query log cannot be written',
      failureCode: 'query_log_failed',
      onWritten: (rows) => options.onWritten?.(rows),
      onFailure: (error) => {
        this.logger.error('query log write failed; statements are refused until it recovers', { error });
        options.onFailure?.(error);
        for (const listener of [...this.failureListeners]) listener(error);
      },
      onRecovered: () => this.logger.info('query log writes work again', {}),
    });
  }

  openSession(meta: QuerySessionMeta): SessionQueries {
    const session = new SessionQueries(this, meta);
    this.sessions.add(session);
    return session;
  }

  /** Statements held in memory: running, waiting to be written, or being written. */
  get pending(): number {
    return this.writer.queued + this.openCount;
  }

  get failed(): RecorderError | null {
    return this.writer.failure;
  }

  get congested(): boolean {
    return this.writer.congested;
  }

  onCongestion(listener: (congested: boolean) => void): () => void {
    return this.writer.onCongestion(listener);
  }

  onFailure(listener: (error: RecorderError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Resolves once everything queued before the call is written; rejects if the log fails first. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Writes what is left and stops the timers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const session of [...this.sessions]) session.abandonOpen('the gateway stopped');
    await this.writer.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  // ---- used by SessionQueries ----

  /** @internal */
  admit(): void {
    const failure = this.writer.failure;
    if (failure) throw failure;
    if (this.closed) throw new RecorderError('query_log_failed', 'the query log is closed');
    if (this.pending >= this.maxPending) {
      throw new RecorderError('query_log_overloaded', 'the query log is too far behind to record more statements');
    }
    this.openCount += 1;
    this.writer.updateCongestion();
    this.ensureSweep();
  }

  /** @internal A statement finished: queue its COPY line (or, if it was written unfinished, its completion). */
  settle(statement: CapturedStatement, copyPrefix: string): void {
    this.openCount -= 1;
    if (statement.written === 1) this.writer.push({ line: queryCompletionLine(statement.row), completion: true });
    else this.writer.push({ line: queryCopyLine(statement.row, copyPrefix), completion: false });
    statement.written = 2;
  }

  /** @internal */
  forget(session: SessionQueries): void {
    this.sessions.delete(session);
  }

  /**
   * One batch, one round trip: new rows and completions together, in one transaction, so a
   * retried batch never inserts a row twice. A completion always follows the unfinished row it
   * updates in the queue, so that row is written in an earlier batch or earlier in this one.
   */
  private async write(batch: QueuedLine[]): Promise<void> {
    let inserts = '';
    const completions: string[] = [];
    for (const item of batch) {
      if (item.completion) completions.push(item.line);
      else inserts += item.line;
    }
    await this.store.queries.writeBatch(inserts || null, completions.length ? `[${completions.join(',')}]` : null);
  }

  /** Writes statements that have been running for a while as `unfinished`. */
  private ensureSweep(): void {
    if (this.sweepTimer || this.closed) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.unfinishedAfterMs / 2)));
    this.sweepTimer.unref();
  }

  private sweep(): void {
    if (this.openCount === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      return;
    }
    const cutoff = performance.now() - this.unfinishedAfterMs;
    for (const session of this.sessions) {
      for (const statement of session.openStatements()) {
        if (statement.startMono > cutoff) break;
        if (statement.written !== 0) continue;
        statement.written = 1;
        this.writer.push({ line: queryCopyLine(statement.row, session.copyPrefix), completion: false });
      }
    }
  }
}

interface QueuedLine {
  /** A new row in COPY text format (store/query-copy-lines.ts), or a completion line (query-lines.ts). */
  line: string;
  /** The outcome of a row written earlier as `unfinished` (an update, not a new row). */
  completion: boolean;
}

/**
 * One session's view of the query log: numbers statements, keeps the running digest, and
 * reports the counts for the session's end event.
 */
export class SessionQueries {
  private nextSeq = 1;
  private open: CapturedStatement[] = [];
  private openHead = 0;
  private readonly digest = new QueryDigest();
  private nextDigestSeq = 1;
  private readonly finishedEarly = new Map<number, string>();
  private readonly counts = { ok: 0, error: 0, skipped: 0, cancelled: 0, unfinished: 0 };
  private closed = false;
  private openNow = 0;
  /** Digest lines waiting to be hashed: the digest takes them in batches, one native call each. */
  private digestPending: string[] = [];
  /** The serialized columns every row of this session shares (digest lines, COPY lines). */
  private readonly linePrefix: string;
  readonly copyPrefix: string;

  constructor(
    private readonly log: QueryLog,
    readonly meta: QuerySessionMeta,
  ) {
    this.linePrefix = queryLinePrefix(meta);
    this.copyPrefix = queryCopyPrefix(meta);
  }

  /** Records a statement about to be sent upstream. Throws RecorderError when it cannot be recorded. */
  begin(start: StatementStart, now: Date = new Date()): CapturedStatement {
    if (this.closed) throw new RecorderError('query_log_failed', 'the session has ended');
    this.log.admit();
    const statement = new CapturedStatement(this, this.nextSeq++, start, performance.now(), now);
    this.open.push(statement);
    this.openNow += 1;
    return statement;
  }

  finish(statement: CapturedStatement, outcome: StatementOutcome): void {
    if (statement.finished) return;
    statement.finished = true;
    this.openNow -= 1;
    const row = statement.row;
    row.durationMs = Math.round((performance.now() - statement.startMono) * 1000) / 1000;
    row.status = outcome.status;
    if (outcome.commandTag !== undefined) row.commandTag = outcome.commandTag;
    if (outcome.rowCount !== undefined) row.rowCount = outcome.rowCount;
    if (outcome.sqlstate !== undefined) row.sqlstate = outcome.sqlstate;
    if (outcome.errorMessage !== undefined) row.errorMessage = outcome.errorMessage;
    if (outcome.details) row.details = { ...(row.details ?? {}), ...outcome.details };
    this.counts[outcome.status] += 1;
    this.addToDigest(statement.seq, queryRowLine(row, this.linePrefix));
    this.log.settle(statement, this.copyPrefix);
    this.pruneOpen();
  }

  /** Open statements, oldest first (finished ones may still be among them). */
  *openStatements(): Iterable<CapturedStatement> {
    for (let i = this.openHead; i < this.open.length; i++) {
      const statement = this.open[i]!;
      if (!statement.finished) yield statement;
    }
  }

  /** Statements captured so far. */
  get statements(): number {
    return this.nextSeq - 1;
  }

  /** Statements sent upstream whose outcome is not known yet. */
  get openCount(): number {
    return this.openNow;
  }

  /** Statements still open when the session ends are recorded as unfinished. */
  abandonOpen(reason: string): void {
    for (const statement of [...this.openStatements()]) {
      this.finish(statement, { status: 'unfinished', details: { endedBy: reason } });
    }
  }

  /** Ends the session's capture: waits for its rows to be written and returns the counts and digest. */
  async close(reason = 'the session ended'): Promise<SessionQueryStats> {
    this.abandonOpen(reason);
    this.closed = true;
    this.log.forget(this);
    let writeError: string | undefined;
    try {
      await this.log.flush();
    } catch (err) {
      writeError = errorMessage(err);
    }
    this.hashPending();
    return {
      statements: this.nextSeq - 1,
      ...this.counts,
      digest: this.digest.finish(),
      ...(writeError ? { writeError } : {}),
    };
  }

  private addToDigest(seq: number, line: string): void {
    if (seq !== this.nextDigestSeq) {
      this.finishedEarly.set(seq, line);
      return;
    }
    this.digestPending.push(line);
    this.nextDigestSeq += 1;
    let next: string | undefined;
    while ((next = this.finishedEarly.get(this.nextDigestSeq)) !== undefined) {
      this.finishedEarly.delete(this.nextDigestSeq);
      this.digestPending.push(next);
      this.nextDigestSeq += 1;
    }
    if (this.digestPending.length >= 64) this.hashPending();
  }

  private hashPending(): void {
    if (this.digestPending.length === 0) return;
    this.digest.addLines(this.digestPending);
    this.digestPending = [];
  }

  private pruneOpen(): void {
    while (this.openHead < this.open.length && this.open[this.openHead]!.finished) this.openHead++;
    if (this.openHead === this.open.length) {
      this.open = [];
      this.openHead = 0;
    } else if (this.openHead > 1024 && this.openHead * 2 > this.open.length) {
      this.open = this.open.slice(this.openHead);
      this.openHead = 0;
    }
  }
}
