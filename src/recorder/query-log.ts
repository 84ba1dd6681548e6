import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { CapturedParam } from '../core/captured-param.js';
import { queryCompletionLine, queryLinePrefix, queryRowLine } from '../store/query-lines.js';
import type { NewQueryRow, QueryRow } from '../store/repositories/queries.js';
import type { Store } from '../store/store.js';
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
  /** The insert ticket of its unfinished row (written === 1). */
  unfinishedTicket = 0;
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
 * batches (one multi-row insert each) at most `maxDelayMs` after they finish; statements
 * still running after `unfinishedAfterMs` are written as `unfinished` and completed later, so
 * a crash loses at most about a second of evidence. Memory is bounded: above a high-water mark
 * the log reports congestion (proxies stop reading from clients), at `maxPending` it refuses
 * new statements. If the store cannot be written the log fails: listeners end their
 * sessions, new statements are refused, and writing is retried until it works again.
 */
export class QueryLog {
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly unfinishedAfterMs: number;
  private readonly batchRows: number;
  private readonly maxDelayMs: number;
  private readonly retryMs: number;

  /** Query lines (store/query-lines.ts) waiting to be inserted, and completions of unfinished rows. */
  private inserts: string[] = [];
  /** Each completion names the insert (ticket) that must be written before it: its unfinished row. */
  private completions: Array<{ line: string; after: number }> = [];
  /** Lines ever queued and ever written, per queue (the queues are FIFO, so these say what a flush waits for). */
  private insertTicket = 0;
  private insertDone = 0;
  private completionTicket = 0;
  private completionDone = 0;
  private openCount = 0;
  private readonly sessions = new Set<SessionQueries>();

  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private failure: RecorderError | null = null;
  private congestedNow = false;
  private closed = false;
  private readonly congestionListeners = new Set<(congested: boolean) => void>();
  private readonly failureListeners = new Set<(error: RecorderError) => void>();
  private flushWaiters: Array<{ insert: number; completion: number; resolve: () => void; reject: (error: RecorderError) => void }> = [];

  constructor(
    private readonly store: Pick<Store, 'queries'>,
    private readonly options: QueryLogOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxPending = options.maxPending ?? 100_000;
    this.highWater = Math.max(1, Math.floor(this.maxPending / 4));
    this.lowWater = Math.floor(this.highWater / 2);
    this.unfinishedAfterMs = options.unfinishedAfterMs ?? 500;
    this.batchRows = options.batchRows ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 100;
    this.retryMs = options.retryMs ?? 1000;
  }

  openSession(meta: QuerySessionMeta): SessionQueries {
    const session = new SessionQueries(this, meta);
    this.sessions.add(session);
    return session;
  }

  /** Statements held in memory: running, waiting to be written, or being written. */
  get pending(): number {
    return this.inserts.length + this.completions.length + this.openCount;
  }

  get failed(): RecorderError | null {
    return this.failure;
  }

  get congested(): boolean {
    return this.congestedNow;
  }

  onCongestion(listener: (congested: boolean) => void): () => void {
    this.congestionListeners.add(listener);
    return () => this.congestionListeners.delete(listener);
  }

  onFailure(listener: (error: RecorderError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Resolves once everything queued before the call is written; rejects if the log fails first. */
  flush(): Promise<void> {
    const target = { insert: this.insertTicket, completion: this.completionTicket };
    if (this.insertDone >= target.insert && this.completionDone >= target.completion) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ ...target, resolve, reject });
      this.kick();
    });
  }

  /** Writes what is left and stops the timers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const session of [...this.sessions]) session.abandonOpen('the gateway stopped');
    await this.flush().catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.timer = null;
    this.sweepTimer = null;
  }

  // ---- used by SessionQueries ----

  /** @internal */
  admit(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new RecorderError('query_log_failed', 'the query log is closed');
    if (this.pending >= this.maxPending) {
      throw new RecorderError('query_log_overloaded', 'the query log is too far behind to record more statements');
    }
    this.openCount += 1;
    this.checkCongestion();
    this.ensureSweep();
  }

  /** @internal A statement finished: queue its line (or, if it was written unfinished, its completion). */
  settle(statement: CapturedStatement, line: string): void {
    this.openCount -= 1;
    if (statement.written === 1) {
      this.completions.push({ line: queryCompletionLine(statement.row), after: statement.unfinishedTicket });
      this.completionTicket += 1;
    } else {
      this.inserts.push(line);
      this.insertTicket += 1;
    }
    statement.written = 2;
    this.schedule();
  }

  /** @internal */
  forget(session: SessionQueries): void {
    this.sessions.delete(session);
  }

  // ---- writing ----

  private schedule(): void {
    if (this.writing || this.failure) return;
    if (this.inserts.length + this.completions.length >= this.batchRows) {
      this.kick();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.maxDelayMs);
    }
  }

  private kick(): void {
    if (this.writing) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.writing = this.writeAll().finally(() => {
      this.writing = null;
      if (!this.failure && this.inserts.length + this.completions.length > 0) this.schedule();
    });
  }

  /**
   * Writes one batch, then more only while a full batch is waiting or someone waits on
   * flush: a partial batch waits for the timer, so under load the store sees few large
   * inserts rather than one small insert per round trip (each costs it a parse and a plan).
   */
  private async writeAll(): Promise<void> {
    for (let round = 0; this.inserts.length + this.completions.length > 0; round++) {
      if (round > 0 && this.flushWaiters.length === 0 && this.inserts.length + this.completions.length < this.batchRows) break;
      const inserts = this.inserts.splice(0, this.batchRows * 2);
      if (inserts.length > 0) {
        try {
          await this.store.queries.insertBatch(`[${inserts.join(',')}]`);
        } catch (err) {
          this.inserts.unshift(...inserts);
          this.fail(err);
          return;
        }
        this.insertDone += inserts.length;
        this.options.onWritten?.(inserts.length);
      }
      // A completion only once the unfinished row it updates is in the store: that insert may
      // have been queued while the previous batch was being written.
      let ready = 0;
      while (ready < this.completions.length && ready < this.batchRows * 2 && this.completions[ready]!.after <= this.insertDone) ready++;
      if (ready === 0 && this.inserts.length === 0 && this.completions.length > 0) break; // cannot happen: every unfinished row is queued before its completion
      const completions = this.completions.splice(0, ready);
      if (completions.length > 0) {
        try {
          await this.store.queries.completeBatch(`[${completions.map((item) => item.line).join(',')}]`);
        } catch (err) {
          this.completions.unshift(...completions);
          this.fail(err);
          return;
        }
        this.completionDone += completions.length;
      }
      this.recovered();
      this.releaseWaiters();
      this.checkCongestion();
    }
  }

  private fail(err: unknown): void {
    const first = this.failure === null;
    this.failure =
      err instanceof RecorderError ? err : new RecorderError('query_log_failed', `the query log cannot be written: ${errorMessage(err)}`, { cause: err });
    if (first) {
      this.logger.error('query log write failed; statements are refused until it recovers', { error: this.failure });
      this.options.onFailure?.(this.failure);
      for (const listener of [...this.failureListeners]) listener(this.failure);
    }
    for (const waiter of this.flushWaiters.splice(0)) waiter.reject(this.failure);
    if (!this.closed) {
      setTimeout(() => {
        if (this.failure) this.kick();
      }, this.retryMs).unref();
    }
  }

  private recovered(): void {
    if (!this.failure) return;
    this.logger.info('query log writes work again', {});
    this.failure = null;
  }

  private releaseWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const insertsDone = this.insertDone;
    const completionsDone = this.completionDone;
    this.flushWaiters = this.flushWaiters.filter((waiter) => {
      if (insertsDone >= waiter.insert && completionsDone >= waiter.completion) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  private checkCongestion(): void {
    const pending = this.pending;
    const next = this.congestedNow ? pending > this.lowWater : pending >= this.highWater;
    if (next === this.congestedNow) return;
    this.congestedNow = next;
    for (const listener of [...this.congestionListeners]) listener(next);
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
    let queued = false;
    for (const session of this.sessions) {
      for (const statement of session.openStatements()) {
        if (statement.startMono > cutoff) break;
        if (statement.written !== 0) continue;
        statement.written = 1;
        this.inserts.push(queryRowLine(statement.row, session.linePrefix));
        this.insertTicket += 1;
        statement.unfinishedTicket = this.insertTicket;
        queued = true;
      }
    }
    if (queued) this.schedule();
  }
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
  /** Lines waiting to be hashed: the digest takes them in batches, one native call each. */
  private digestPending: string[] = [];
  /** The serialized columns every row of this session shares. */
  readonly linePrefix: string;

  constructor(
    private readonly log: QueryLog,
    readonly meta: QuerySessionMeta,
  ) {
    this.linePrefix = queryLinePrefix(meta);
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
    // One serialization per statement: the digest hashes the very line the insert sends.
    const line = queryRowLine(row, this.linePrefix);
    this.addToDigest(statement.seq, line);
    this.log.settle(statement, line);
    this.pruneOpen();
  }

  /** Open statements, oldest first (finished ones may still be among them). */
  *openStatements(): Iterable<CapturedStatement> {
    for (let i = this.openHead; i < this.open.length; i++) {
      const statement = this.open[i]!;
      if (!statement.finished) yield statement;
    }
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
