import type { StatementOutcome } from '../../../recorder/query-log.js';
import { ProxyError } from '../../errors.js';
import { captureStatementText } from '../capture-params.js';
import { splitStatements } from '../sql-split.js';
import { SKIPPED_IN_PIPELINE, skipped, TRANSACTION_END, type CaptureState } from './capture-state.js';
import { rowCountOf } from './command-tag.js';
import type { CommandChanges, QueryExpectation } from './expectations.js';
import type { Settleable } from './prepared-names.js';
import { sessionCommandOf } from './session-commands.js';
import { expectCommand, settleCommand } from './session-changes.js';
import { UNFOLLOWABLE_PIPELINE } from './refusals.js';

/**
 * A simple Query: one row per statement of its string, each completed by its own
 * CommandComplete; after an error the rest of the string does not run. Any Query drops the
 * unnamed prepared statement and portal; statements in it may prepare, deallocate, declare
 * or close (SQL), which the gateway follows once the server confirms them.
 */
export class SimpleQueryCapture {
  constructor(private readonly s: CaptureState) {}

  capture(bytes: Buffer): void {
    const s = this.s;
    const { text, details } = captureStatementText(bytes, s.decoding);
    const pieces = splitStatements(text, { standardConformingStrings: s.standardConformingStrings });
    const multi = pieces.length > 1;
    const skipping = s.skipUntilSync;
    const commands: Array<CommandChanges | null> = new Array(pieces.length).fill(null);
    if (!skipping) {
      for (let i = 0; i < pieces.length; i++) {
        const command = sessionCommandOf(pieces[i]!.text);
        if (command && s.inBatch) {
          // The server answers such a Query only if nothing before it in the batch failed, so
          // the gateway can neither wait for its answer nor assume it.
          throw new ProxyError(
            UNFOLLOWABLE_PIPELINE,
            'a simple Query that prepares, deallocates, declares, closes or ends a transaction was sent inside an extended-protocol batch before its Sync; the gateway cannot follow its effect exactly',
          );
        }
        commands[i] = expectCommand(s, command, multi ? pieces[i]!.text : text, details);
      }
    }
    const statements = pieces.map((piece, i) =>
      s.begin({
        protocol: 'simple',
        statement: multi ? piece.text : text,
        details: multi ? { ...details, part: `${i + 1}/${pieces.length}` } : details,
      }),
    );
    if (skipping) {
      for (const statement of statements) s.finish(statement, skipped(SKIPPED_IN_PIPELINE));
      return;
    }
    // Any Query drops the unnamed statement and portal (when there is one to drop).
    const implicit: Settleable[] = [];
    if (s.statements.touches('')) implicit.push(s.statements.expect({ kind: 'remove', key: '', reason: 'a simple Query drops the unnamed statement' }, s.batch));
    if (s.portals.touches('')) implicit.push(s.portals.expect({ kind: 'remove', key: '', reason: 'a simple Query drops the unnamed portal' }, s.batch));
    // Outside a batch the Query is answered on its own: it is a batch of its own, and may end a transaction.
    const alone = !s.inBatch;
    const transactionEnd = alone && !s.portals.empty ? s.portals.expect(TRANSACTION_END, s.batch) : null;
    s.queue.push({ kind: 'query', statements, pieces, commands, implicit, transactionEnd, index: 0, rows: 0 });
    if (alone) s.batch += 1;
  }

  /** CommandComplete (or EmptyQueryResponse, tag null) of the statement at `head.index`. */
  complete(head: QueryExpectation, tag: string | null, copy: Record<string, unknown> | null): void {
    const s = this.s;
    let statement = head.statements[head.index];
    if (!statement) {
      // The server ran more statements than the gateway split the string into.
      statement = s.begin({ protocol: 'simple', statement: '', details: { note: 'a statement of the query string the gateway did not split out' } });
      head.statements.push(statement);
    }
    s.finish(statement, {
      status: 'ok',
      commandTag: tag,
      rowCount: rowCountOf(tag) ?? (head.rows || null),
      ...(copy ? { details: copy } : {}),
    });
    settleCommand(head.commands[head.index] ?? null, tag);
    head.index += 1;
    head.rows = 0;
  }

  /** An ErrorResponse ends the string: the failing statement gets it, the rest did not run. */
  failed(head: QueryExpectation, outcome: StatementOutcome, position: number | undefined): void {
    let failing = head.index;
    if (position !== undefined && head.pieces.length > 1) {
      // A position in a later statement means the string failed to parse: nothing before it ran.
      const at = head.pieces.findIndex((piece) => position - 1 >= piece.start && position - 1 <= piece.end);
      if (at > head.index) failing = at;
    }
    head.statements.forEach((statement, i) => {
      if (i < head.index) return;
      if (i === failing) this.s.finish(statement, outcome);
      else this.s.finish(statement, skipped('an earlier error ended the query string'));
      settleCommand(head.commands[i] ?? null, null);
    });
    head.index = head.statements.length;
  }

  /** ReadyForQuery ends the Query. */
  ready(head: QueryExpectation, status: 'I' | 'T' | 'E'): void {
    head.statements.forEach((statement, i) => {
      if (i < head.index) return;
      this.s.finish(statement, { status: 'ok', details: { note: 'no completion was reported for this part; the server ran it as part of the previous statement' } });
      settleCommand(head.commands[i] ?? null, null);
    });
    for (const change of head.implicit) change.settle(true);
    head.transactionEnd?.settle(status === 'I');
  }

  /** The server skipped the Query (an earlier error in its batch). */
  skip(head: QueryExpectation, outcome: StatementOutcome): void {
    head.statements.forEach((statement, i) => {
      if (!statement.finished) this.s.finish(statement, outcome);
      settleCommand(head.commands[i] ?? null, null);
    });
    for (const change of head.implicit) change.settle(false);
    head.transactionEnd?.settle(false);
  }
}
