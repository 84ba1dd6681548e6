import type { Logger } from '../../../core/logger.js';
import type { CapturedStatement, SessionQueries, StatementOutcome, StatementStart } from '../../../recorder/query-log.js';
import { UTF8_DECODING, type TextDecoding } from '../client-encoding.js';
import { Budget, type PreparedLimits } from './capture-budget.js';
import type { Expectation } from './expectations.js';
import { PreparedNames, type Change } from './prepared-names.js';
import type { Portal, PreparedStatement } from './prepared-objects.js';
import { ResponseQueue } from './response-queue.js';

/** Where captured statements go: one session of the query log. */
export type StatementSink = Pick<SessionQueries, 'begin' | 'finish' | 'meta'>;

const MAX_MADE_WHILE_SKIPPING = 1000;

export const SKIPPED_IN_PIPELINE = 'an earlier error in the pipeline: the server skips messages until the next Sync';

/**
 * What the phases of one session's capture share: the queue of requests awaiting answers, the
 * session's prepared statements and portals, and how the client's text is decoded.
 */
export class CaptureState {
  readonly queue = new ResponseQueue<Expectation>();
  readonly statements: PreparedNames<PreparedStatement>;
  readonly portals: PreparedNames<Portal>;
  decoding: TextDecoding = UTF8_DECODING;
  standardConformingStrings = true;
  /**
   * Messages up to a Sync, or a Query sent outside an extended-protocol batch, form one batch:
   * the server answers a batch without waiting for more from the client, and after an error
   * in a batch it skips the rest of that batch only.
   */
  batch = 0;
  /** Extended-protocol messages were sent since the last Sync. */
  inBatch = false;
  /** An error was answered and the client has not sent Sync yet: the server skips what comes. */
  skipUntilSync = false;
  /** Statements and portals the client made while the server skips, so the skipped Executes can name what they would have run. */
  readonly skippedStatements = new Map<string, PreparedStatement>();
  readonly skippedPortals = new Map<string, Portal>();

  constructor(
    readonly queries: StatementSink,
    readonly logger: Logger,
    limits: PreparedLimits,
  ) {
    const budget = new Budget(limits);
    this.statements = new PreparedNames<PreparedStatement>({ budget, removeAllSparesUnnamed: true });
    this.portals = new PreparedNames<Portal>({ budget, removeAllSparesUnnamed: false, onRemoved: (portal, reason) => this.endRun(portal, reason) });
  }

  /** Remembers a statement or portal the server will skip, up to a bound (they only name skipped rows). */
  madeWhileSkipping<V>(made: Map<string, V>, key: string, value: V): void {
    if (made.size < MAX_MADE_WHILE_SKIPPING || made.has(key)) made.set(key, value);
  }

  begin(start: StatementStart): CapturedStatement {
    return this.queries.begin(start);
  }

  finish(statement: CapturedStatement, outcome: StatementOutcome): void {
    this.queries.finish(statement, outcome);
  }

  /** A run stopped by an Execute row limit whose portal then went away before it completed. */
  endRun(portal: Portal, reason: string): void {
    const run = portal.run;
    portal.run = null;
    portal.suspended = false;
    if (run && !run.finished) {
      this.finish(run, { status: 'ok', rowCount: portal.rows, details: { suspended: true, executes: portal.executes, endedBy: reason } });
    }
  }

  mismatch(what: string): void {
    this.logger.warn('postgres capture: unexpected server message', { what, expecting: this.queue.peek()?.kind ?? null, sessionId: this.queries.meta.sessionId });
  }
}

export function skipped(reason: string): StatementOutcome {
  return { status: 'skipped', details: { skippedBecause: reason } };
}

/** The end of a transaction: every portal goes but the cursors declared WITH HOLD. */
export const TRANSACTION_END: Change<Portal> = Object.freeze({ kind: 'removeAll', reason: 'the transaction ended', keep: (portal: Portal) => portal.holdable });
