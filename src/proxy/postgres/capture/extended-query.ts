import type { StatementOutcome } from '../../../recorder/query-log.js';
import { captureParams, captureStatementText } from '../capture-params.js';
import type { FrontendMessage } from '../protocol/frontend-messages.js';
import { SKIPPED_IN_PIPELINE, skipped, TRANSACTION_END, type CaptureState } from './capture-state.js';
import { isRowReturning, rowCountOf } from './command-tag.js';
import type { BindExpectation, DescribeExpectation, Expectation, ExecuteExpectation, ParseExpectation } from './expectations.js';
import { protocolNameKey } from './name-keys.js';
import { UNCERTAIN, type Held, type PreparedNames } from './prepared-names.js';
import { newPortal, paramBytes, portalDetails, textBytes, unknownPortalText, unknownStatementText, type Portal, type PreparedStatement } from './prepared-objects.js';
import { sessionCommandOf } from './session-commands.js';
import { expectCommand, settleCommand } from './session-changes.js';

type Message<N extends FrontendMessage['name']> = Extract<FrontendMessage, { name: N }>;

/** The statement whose Parse, or the portal whose Bind, failed: the first Execute of it carries the error. */
interface Failure {
  outcome: StatementOutcome;
  source: PreparedStatement | Portal;
}

/**
 * The extended protocol. Parse, Bind and Close change the session's statements and portals
 * only when the server confirms them (ParseComplete, BindComplete, CloseComplete); an error
 * makes the server skip everything up to Sync, and skipped messages change nothing. Every
 * Execute is a row with the text of the statement its portal was bound from and the values
 * of its Bind; a run suspended by a row limit stays one row until its portal completes or
 * goes away.
 *
 * `bind` and `execute` return false when the name they use depends on an answer of an earlier
 * batch the server has not given yet: the message must wait (see PreparedNames).
 */
export class ExtendedQueryCapture {
  constructor(
    private readonly s: CaptureState,
    /** Ends a queued request the server skipped (any kind: a Query can sit inside a batch). */
    private readonly skip: (item: Expectation, outcome: StatementOutcome) => void,
  ) {}

  // ------------------------------------------------------------ client → server

  parse(message: Message<'parse'>): void {
    const s = this.s;
    s.inBatch = true;
    const { text, details } = captureStatementText(message.text, s.decoding);
    const statement: PreparedStatement = {
      name: message.statement,
      text,
      textDetails: details,
      paramTypes: message.paramTypes,
      command: sessionCommandOf(text),
      bytes: textBytes(text, details),
    };
    const key = protocolNameKey(message.statement);
    if (s.skipUntilSync) {
      s.madeWhileSkipping(s.skippedStatements, key, statement);
      return;
    }
    const change = s.statements.expect({ kind: 'define', key, value: statement, replacedBecause: 'replaced by a new Parse' }, s.batch);
    s.queue.push({ kind: 'parse', key, statement, change });
  }

  bind(message: Message<'bind'>): boolean {
    const s = this.s;
    const prepared = this.resolve(s.statements, s.skippedStatements, protocolNameKey(message.statement));
    if (prepared === UNCERTAIN) return false;
    s.inBatch = true;
    const params = captureParams(message.params, message.paramFormats, prepared?.paramTypes ?? [], s.decoding);
    const portal = newPortal({
      name: message.portal,
      statementName: message.statement,
      statement: prepared,
      text: prepared?.text ?? unknownStatementText(message.statement),
      textDetails: prepared ? prepared.textDetails : { unknownStatement: true },
      params,
      command: prepared?.command ?? null,
      holdable: false,
      bytes: paramBytes(params),
    });
    // Rows of the unnamed portal share their statement's details object (serialized once).
    portal.details = prepared && !message.portal ? (prepared.details ??= portalDetails(portal, 0)) : portalDetails(portal, 0);
    const portalKey = protocolNameKey(message.portal);
    if (s.skipUntilSync) {
      s.madeWhileSkipping(s.skippedPortals, portalKey, portal);
      return true;
    }
    const change = s.portals.expect({ kind: 'define', key: portalKey, value: portal, replacedBecause: 'replaced by a new Bind' }, s.batch);
    s.queue.push({ kind: 'bind', portal, change });
    return true;
  }

  describe(message: Message<'describe'>): void {
    const s = this.s;
    s.inBatch = true;
    if (!s.skipUntilSync) s.queue.push({ kind: 'describe', target: message.target, key: protocolNameKey(message.objectName) });
  }

  execute(message: Message<'execute'>): boolean {
    const s = this.s;
    const key = protocolNameKey(message.portal);
    let portal = this.resolve(s.portals, s.skippedPortals, key);
    if (portal === UNCERTAIN) return false;
    s.inBatch = true;
    let unknownKey: string | null = null;
    if (!portal) {
      // Opened by server-side code (a refcursor), or not open at all (the server says so).
      portal = newPortal({
        name: message.portal,
        statementName: '',
        statement: null,
        text: unknownPortalText(message.portal),
        textDetails: { unknownPortal: true },
        params: [],
        command: null,
        holdable: false,
        bytes: 0,
      });
      portal.details = portalDetails(portal, 0);
      if (!s.skipUntilSync) {
        s.portals.reserve(key, portal);
        unknownKey = key;
      }
    }
    const command = s.skipUntilSync ? null : expectCommand(s, portal.command, portal.text, portal.textDetails, portal);
    portal.executes += 1;
    let statement = portal.run;
    if (!statement) {
      statement = s.begin({
        protocol: 'extended',
        statement: portal.text,
        params: portal.params,
        details: message.maxRows > 0 ? portalDetails(portal, message.maxRows) : portal.details,
      });
      portal.run = statement;
      portal.rows = 0;
    }
    const expectation: ExecuteExpectation = { kind: 'execute', portal, statement, command, unknownKey };
    if (s.skipUntilSync) this.skipExecute(expectation, skipped(SKIPPED_IN_PIPELINE));
    else s.queue.push(expectation);
    return true;
  }

  close(message: Message<'close'>): void {
    const s = this.s;
    s.inBatch = true;
    if (s.skipUntilSync) return;
    const key = protocolNameKey(message.objectName);
    const change =
      message.target === 'S'
        ? s.statements.expect({ kind: 'remove', key, reason: 'closed by the client' }, s.batch)
        : s.portals.expect({ kind: 'remove', key, reason: 'closed by the client' }, s.batch);
    s.queue.push({ kind: 'close', change });
  }

  sync(): void {
    const s = this.s;
    s.skipUntilSync = false;
    s.inBatch = false;
    if (s.skippedPortals.size > 0) s.skippedPortals.clear();
    if (s.skippedStatements.size > 0) s.skippedStatements.clear();
    // Outside a transaction block, Sync commits the implicit transaction: its portals go.
    const transactionEnd = s.portals.expect(TRANSACTION_END, s.batch);
    s.queue.push({ kind: 'sync', transactionEnd });
    s.batch += 1;
  }

  // ------------------------------------------------------------ server → client

  /** ParseComplete, BindComplete or CloseComplete. */
  confirmed(head: Extract<Expectation, { kind: 'parse' | 'bind' | 'close' }>): void {
    head.change.settle(true);
  }

  /** ParameterDescription of a Describe of a statement: the parameter types the server inferred. */
  parameterTypes(head: DescribeExpectation, body: Buffer): void {
    if (head.target !== 'S' || body.length < 2) return;
    const prepared = this.s.statements.get(head.key);
    if (!prepared) return;
    const count = body.readInt16BE(0);
    const types: number[] = [];
    for (let i = 0; i < count && 2 + i * 4 + 4 <= body.length; i++) types.push(body.readUInt32BE(2 + i * 4));
    prepared.paramTypes = types;
  }

  /** PortalSuspended: the Execute's row limit was reached; the run goes on with the next Execute. */
  suspended(head: ExecuteExpectation): void {
    const portal = head.portal;
    head.statement.row.rowCount = portal.rows;
    portal.suspended = true;
    settleCommand(head.command, null);
    if (head.unknownKey !== null) this.s.portals.adopt(head.unknownKey, portal, 'replaced by a portal opened on the server');
  }

  /** CommandComplete (tag) or EmptyQueryResponse (null) of an Execute. */
  complete(head: ExecuteExpectation, tag: string | null, copy: Record<string, unknown> | null): void {
    const portal = head.portal;
    const continued = portal.executes > 1;
    this.s.finish(head.statement, {
      status: 'ok',
      commandTag: tag,
      rowCount: continued && isRowReturning(tag) ? portal.rows : (rowCountOf(tag) ?? (portal.rows || null)),
      ...(copy || continued ? { details: { ...copy, ...(continued ? { executes: portal.executes } : {}) } } : {}),
    });
    this.endExecute(head);
    settleCommand(head.command, tag);
  }

  /** An ErrorResponse answering the extended-protocol request at the head of the queue. */
  failed(head: Exclude<Expectation, { kind: 'query' | 'function' }>, outcome: StatementOutcome): void {
    const s = this.s;
    switch (head.kind) {
      case 'execute':
        s.queue.shift();
        s.finish(head.statement, { ...outcome, rowCount: head.portal.rows || null });
        this.endExecute(head);
        settleCommand(head.command, null);
        this.skipToSync(null);
        return;
      case 'parse':
        s.queue.shift();
        head.change.settle(false);
        // The server drops the unnamed statement before it parses a new one.
        if (head.key === '') s.statements.apply({ kind: 'remove', key: '', reason: 'a failed Parse drops the unnamed statement' });
        this.failedBefore(head, { ...outcome, details: { ...outcome.details, phase: 'parse' } });
        return;
      case 'bind':
        s.queue.shift();
        head.change.settle(false);
        this.failedBefore(head, { ...outcome, details: { ...outcome.details, phase: 'bind' } });
        return;
      case 'describe':
        s.queue.shift();
        this.skipToSync(null);
        return;
      case 'close':
        s.queue.shift();
        head.change.settle(false);
        this.skipToSync(null);
        return;
      case 'sync': {
        // An error while committing the implicit transaction at Sync (a deferred constraint, say); ReadyForQuery follows.
        const statement = s.begin({ protocol: 'extended', statement: 'COMMIT (implicit, at Sync)', details: { phase: 'sync' } });
        s.finish(statement, outcome);
        return;
      }
    }
  }

  /** An Execute the server skipped. */
  skipExecute(item: ExecuteExpectation, outcome: StatementOutcome): void {
    settleCommand(item.command, null);
    if (item.unknownKey !== null) this.s.portals.release(item.unknownKey, item.portal);
    if (item.portal.suspended) {
      // The error that makes the server skip it aborted the transaction: the run is over.
      this.s.endRun(item.portal, 'an error ended the transaction before the run completed');
      return;
    }
    item.portal.run = null;
    item.portal.executes = 0;
    item.portal.rows = 0;
    this.s.finish(item.statement, outcome);
  }

  /** A Parse or Bind failed: the first Execute of what it prepared gets the error, or a row of its own. */
  private failedBefore(head: ParseExpectation | BindExpectation, failure: StatementOutcome): void {
    const source = head.kind === 'parse' ? head.statement : head.portal;
    if (this.skipToSync({ outcome: failure, source })) return;
    const s = this.s;
    const statement =
      head.kind === 'parse'
        ? s.begin({ protocol: 'extended', statement: head.statement.text, params: null, details: head.statement.textDetails })
        : s.begin({ protocol: 'extended', statement: head.portal.text, params: head.portal.params, details: head.portal.textDetails });
    s.finish(statement, failure);
  }

  /**
   * After an error the server discards everything up to Sync. Executes in that stretch become
   * `skipped` rows — except the first Execute of `failure.source`, which gets its error.
   * Returns whether it was attributed.
   */
  private skipToSync(failure: Failure | null): boolean {
    const s = this.s;
    let attributed = false;
    let item: Expectation | undefined;
    while ((item = s.queue.peek()) && item.kind !== 'sync') {
      s.queue.shift();
      if (failure && !attributed && item.kind === 'execute' && !item.portal.suspended && (item.portal === failure.source || item.portal.statement === failure.source)) {
        attributed = true;
        s.finish(item.statement, failure.outcome);
        this.endExecute(item);
        settleCommand(item.command, null);
        continue;
      }
      this.skip(item, skipped(SKIPPED_IN_PIPELINE));
    }
    // The client has not sent the Sync yet: what it sends until then is skipped too.
    if (!item) s.skipUntilSync = true;
    return attributed;
  }

  /** What a name stands for when the server reaches this message (for a message it will skip: the best guess). */
  private resolve<V extends Held>(names: PreparedNames<V>, madeWhileSkipping: Map<string, V>, key: string): V | null | typeof UNCERTAIN {
    const s = this.s;
    if (s.skipUntilSync) return madeWhileSkipping.get(key) ?? names.guess(key);
    return names.lookup(key, s.batch);
  }

  private endExecute(head: ExecuteExpectation): void {
    const portal = head.portal;
    portal.run = null;
    portal.suspended = false;
    portal.executes = 0;
    portal.rows = 0;
    if (head.unknownKey !== null) this.s.portals.release(head.unknownKey, portal);
  }
}
