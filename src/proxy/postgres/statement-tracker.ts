import type { Logger } from '../../core/logger.js';
import type { CapturedStatement, SessionQueries, StatementOutcome, StatementStart } from '../../recorder/query-log.js';
// eslint-disable-next-line no-restricted-imports -- moving behind the recorder in the pg-evidence work
import type { CapturedParam } from '../../store/schema/queries.js';
// eslint-disable-next-line no-restricted-imports -- moving behind the recorder in the pg-evidence work
import { shareDetails } from '../../store/query-lines.js';
import { captureParams, captureStatementText, captureValue } from './capture-params.js';
import { decodingFor, UTF8_DECODING, type TextDecoding } from './client-encoding.js';
import { Backend, SqlState } from './protocol/codes.js';
import { parseErrorFields, type ReportedError } from './protocol/error-fields.js';
import type { FrontendMessage } from './protocol/frontend-messages.js';
import { splitStatements, type StatementPiece } from './sql-split.js';

/** Upstream message types whose bodies the tracker reads; all others are only counted. */
export const TRACKED_BODIES = [
  Backend.CommandComplete,
  Backend.ErrorResponse,
  Backend.ReadyForQuery,
  Backend.ParameterStatus,
  Backend.ParameterDescription,
];

interface PreparedStatement {
  text: string;
  textDetails: Record<string, unknown> | null;
  paramTypes: number[];
  /** The details of rows executing it through the unnamed portal (shared, serialized once). */
  details?: Record<string, unknown> | null;
}

interface Portal {
  name: string;
  statementName: string;
  text: string;
  textDetails: Record<string, unknown> | null;
  params: CapturedParam[];
  /** The statement row of a run suspended by an Execute row limit, until the portal completes or closes. */
  run: CapturedStatement | null;
  rows: number;
  executes: number;
  /** Set when the portal was closed while an Execute on it was still in flight. */
  closedBy: string | null;
  /** A run of this portal is suspended (counted in suspendedRuns). */
  suspended: boolean;
  /** Shared by every row of the portal: one object, serialized once (query-lines memoizes by identity). */
  details: Record<string, unknown> | null;
}

type Expectation =
  | { kind: 'query'; statements: CapturedStatement[]; pieces: StatementPiece[]; index: number; rows: number; errored: boolean }
  | { kind: 'parse'; statementName: string; text: string; textDetails: Record<string, unknown> | null }
  | { kind: 'bind'; portal: Portal }
  | { kind: 'describe'; target: 'S' | 'P'; objectName: string }
  | { kind: 'execute'; portal: Portal; statement: CapturedStatement }
  | { kind: 'close' }
  | { kind: 'sync' }
  | { kind: 'function'; statement: CapturedStatement };

/** Prepared statements and portals remembered per session, at most (the server has its own limits). */
const MAX_NAMED = 10_000;

/**
 * Follows one session's conversation and turns it into query-log rows: what the client asks
 * (seen before it is forwarded, so each statement is recorded before it runs), what the
 * server answers (completion, row counts, errors). The server answers requests in order, so
 * a queue of what each request still expects ties every answer to its statement:
 *
 * - a simple Query becomes one row per statement in its string;
 * - in the extended protocol every Execute is a row (a run suspended by a row limit stays
 *   one row until its portal completes or closes), with the text of its prepared statement
 *   and the parameters of its Bind; after an error the server skips everything up to Sync:
 *   those Executes are rows marked `skipped`;
 * - COPY is recorded with its statement, bytes and rows, never its data;
 * - a FunctionCall is a row with its function OID and arguments.
 */
export class StatementTracker {
  private readonly expected: Expectation[] = [];
  private head = 0;
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  /** The server is skipping messages until the client's next Sync. */
  private skipUntilSync = false;
  private copyIn: CapturedStatement | null = null;
  private copyOut: CapturedStatement | null = null;
  private copyBytes = 0;
  private decoding: TextDecoding = UTF8_DECODING;
  /** Portals holding a run suspended by an Execute row limit. */
  private suspendedRuns = 0;
  private standardConformingStrings = true;
  transactionStatus: 'I' | 'T' | 'E' = 'I';

  constructor(
    private readonly queries: SessionQueries,
    private readonly logger: Logger,
    private readonly onUpstreamError: (error: ReportedError) => void = () => undefined,
  ) {}

  /** Server parameters from the login (client_encoding, standard_conforming_strings). */
  setParameter(name: string, value: string): void {
    if (name === 'client_encoding') this.decoding = decodingFor(value);
    else if (name === 'standard_conforming_strings') this.standardConformingStrings = value === 'on';
  }

  /** Requests sent upstream whose answers have not all arrived. */
  get outstanding(): number {
    return this.expected.length - this.head;
  }

  // ---------------------------------------------------------------- client → server

  /** Called for each complete client message before its bytes are forwarded. Throws RecorderError when it cannot be recorded. */
  onClientMessage(message: FrontendMessage): void {
    switch (message.name) {
      case 'query':
        return this.query(message.text);
      case 'parse': {
        const { text, details } = captureStatementText(message.text, this.decoding);
        this.remember(this.statements, message.statement, { text, textDetails: details, paramTypes: message.paramTypes });
        if (!this.skipUntilSync) this.expect({ kind: 'parse', statementName: message.statement, text, textDetails: details });
        return;
      }
      case 'bind':
        return this.bind(message);
      case 'describe':
        if (!this.skipUntilSync) this.expect(message.target === 'P' ? DESCRIBE_PORTAL : { kind: 'describe', target: message.target, objectName: message.objectName });
        return;
      case 'execute':
        return this.execute(message.portal, message.maxRows);
      case 'close':
        if (message.target === 'P') this.closePortal(message.objectName, 'closed by the client');
        else this.statements.delete(message.objectName);
        if (!this.skipUntilSync) this.expect(CLOSE);
        return;
      case 'sync':
        this.skipUntilSync = false;
        this.expect(SYNC);
        return;
      case 'functionCall':
        return this.functionCall(message.oid, message.args, message.argFormats);
      case 'copyData':
        if (this.copyIn) this.copyBytes += message.length;
        return;
      case 'flush':
      case 'copyDone':
      case 'copyFail':
      case 'terminate':
      case 'authResponse':
        return;
    }
  }

  private query(bytes: Buffer): void {
    const { text, details } = captureStatementText(bytes, this.decoding);
    const pieces = splitStatements(text, { standardConformingStrings: this.standardConformingStrings });
    const multi = pieces.length > 1;
    const statements = pieces.map((piece, i) =>
      this.queries.begin({
        protocol: 'simple',
        statement: multi ? piece.text : text,
        details: multi ? { ...details, part: `${i + 1}/${pieces.length}` } : details,
      }),
    );
    if (this.skipUntilSync) {
      for (const statement of statements) this.finish(statement, skipped('the server skips messages after an error until the next Sync'));
      return;
    }
    this.expect({ kind: 'query', statements, pieces, index: 0, rows: 0, errored: false });
  }

  private bind(message: Extract<FrontendMessage, { name: 'bind' }>): void {
    const prepared = this.statements.get(message.statement);
    const existing = this.portals.get(message.portal);
    if (existing) this.closePortal(message.portal, 'replaced by a new Bind');
    const portal: Portal = {
      name: message.portal,
      statementName: message.statement,
      text: prepared?.text ?? `(prepared statement "${message.statement}" not seen by the gateway)`,
      textDetails: prepared?.textDetails ?? null,
      params: captureParams(message.params, message.paramFormats, prepared?.paramTypes ?? [], this.decoding),
      run: null,
      rows: 0,
      executes: 0,
      closedBy: null,
      suspended: false,
      details: null,
    };
    if (prepared && !message.portal) portal.details = prepared.details ??= portalDetails(portal, 0);
    else portal.details = portalDetails(portal, 0);
    this.remember(this.portals, message.portal, portal);
    if (!this.skipUntilSync) this.expect({ kind: 'bind', portal });
  }

  private execute(portalName: string, maxRows: number): void {
    let portal = this.portals.get(portalName);
    if (!portal) {
      // A cursor opened with DECLARE is a portal too; its text is in an earlier statement.
      portal = { name: portalName, statementName: '', text: `(portal "${portalName}")`, textDetails: null, params: [], run: null, rows: 0, executes: 0, closedBy: null, suspended: false, details: null };
      portal.details = portalDetails(portal, 0);
      this.remember(this.portals, portalName, portal);
    }
    portal.executes += 1;
    let statement = portal.run;
    if (!statement) {
      statement = this.queries.begin({
        protocol: 'extended',
        statement: portal.text,
        params: portal.params,
        details: maxRows > 0 ? portalDetails(portal, maxRows) : portal.details,
      } satisfies StatementStart);
      portal.run = statement;
      portal.rows = 0;
    }
    if (this.skipUntilSync) {
      portal.run = null;
      this.finish(statement, skipped('the server skips messages after an error until the next Sync'));
      return;
    }
    this.expect({ kind: 'execute', portal, statement });
  }

  private functionCall(oid: number, args: Array<Buffer | null>, formats: number[]): void {
    const params = args.map((arg, i) =>
      captureValue(arg, (formats.length === 1 ? formats[0] : formats[i]) === 1 ? 'binary' : 'text', 0, this.decoding),
    );
    const statement = this.queries.begin({ protocol: 'function', statement: `function call (oid ${oid})`, params, details: { functionOid: oid } });
    if (this.skipUntilSync) {
      this.finish(statement, skipped('the server skips messages after an error until the next Sync'));
      return;
    }
    this.expect({ kind: 'function', statement });
  }

  // ---------------------------------------------------------------- server → client

  /** Called for each upstream message (body only for TRACKED_BODIES), before it is forwarded. */
  onServerMessage(type: number, body: Buffer | null, bodyLength: number): void {
    switch (type) {
      case Backend.DataRow: {
        const head = this.peek();
        if (head?.kind === 'execute') head.portal.rows += 1;
        else if (head?.kind === 'query') head.rows += 1;
        return;
      }
      case Backend.CopyData:
        if (this.copyOut) this.copyBytes += bodyLength;
        return;
      case Backend.CommandComplete:
        return this.commandComplete(cstring(body!));
      case Backend.EmptyQueryResponse:
        return this.commandComplete(null);
      case Backend.ReadyForQuery:
        return this.readyForQuery(String.fromCharCode(body![0] ?? 0x49) as 'I' | 'T' | 'E');
      case Backend.ErrorResponse:
        return this.error(parseErrorFields(body!));
      case Backend.ParseComplete:
      case Backend.BindComplete:
      case Backend.CloseComplete:
        this.pop();
        return;
      case Backend.RowDescription:
      case Backend.NoData:
        if (this.peek()?.kind === 'describe') this.pop();
        return;
      case Backend.ParameterDescription:
        return this.parameterDescription(body!);
      case Backend.PortalSuspended: {
        const head = this.pop();
        if (head?.kind !== 'execute') return;
        head.statement.row.rowCount = head.portal.rows;
        if (!head.portal.suspended) {
          head.portal.suspended = true;
          this.suspendedRuns += 1;
        }
        if (head.portal.closedBy && !this.isExpected(head.statement)) this.finishSuspended(head.portal, head.portal.closedBy);
        return;
      }
      case Backend.CopyInResponse:
      case Backend.CopyOutResponse:
      case Backend.CopyBothResponse: {
        const statement = this.current();
        if (!statement) return;
        this.copyBytes = 0;
        if (type === Backend.CopyInResponse) this.copyIn = statement;
        else this.copyOut = statement;
        return;
      }
      case Backend.FunctionCallResponse: {
        const head = this.peek();
        if (head?.kind === 'function') this.finish(head.statement, { status: 'ok' });
        return;
      }
      case Backend.ParameterStatus: {
        const text = body!.toString('utf8');
        const split = text.indexOf('\0');
        if (split > 0) this.setParameter(text.slice(0, split), text.slice(split + 1, text.indexOf('\0', split + 1)));
        return;
      }
    }
  }

  private commandComplete(tag: string | null): void {
    const head = this.peek();
    const copy = this.copyOutcome();
    if (head?.kind === 'execute') {
      this.pop();
      const portal = head.portal;
      portal.run = null;
      this.unsuspend(portal);
      const suspended = portal.executes > 1;
      this.finish(head.statement, {
        status: 'ok',
        commandTag: tag,
        rowCount: suspended && isRowReturning(tag) ? portal.rows : (rowCountOf(tag) ?? (portal.rows || null)),
        ...(copy || suspended ? { details: { ...copy, ...(suspended ? { executes: portal.executes } : {}) } } : {}),
      });
      portal.executes = 0;
      portal.rows = 0;
      return;
    }
    if (head?.kind === 'query') {
      let statement = head.statements[head.index];
      if (!statement) {
        // The server ran more statements than the gateway split the string into.
        statement = this.queries.begin({ protocol: 'simple', statement: '', details: { note: 'a statement of the query string the gateway did not split out' } });
        head.statements.push(statement);
      }
      this.finish(statement, {
        status: 'ok',
        commandTag: tag,
        rowCount: rowCountOf(tag) ?? (head.rows || null),
        ...(copy ? { details: copy } : {}),
      });
      head.index += 1;
      head.rows = 0;
      return;
    }
    this.mismatch(`CommandComplete ${tag ?? '(empty query)'}`);
  }

  private copyOutcome(): Record<string, unknown> | null {
    if (!this.copyIn && !this.copyOut) return null;
    const outcome = { copy: this.copyIn ? 'in' : 'out', copyBytes: this.copyBytes };
    this.copyIn = null;
    this.copyOut = null;
    this.copyBytes = 0;
    return outcome;
  }

  private error(error: ReportedError): void {
    const outcome: StatementOutcome = {
      status: error.code === SqlState.queryCanceled ? 'cancelled' : 'error',
      sqlstate: error.code || null,
      errorMessage: error.message,
    };
    const copy = this.copyOutcome();
    if (copy) outcome.details = copy;
    const head = this.peek();
    if (!head) {
      // Not an answer to a request: the server ends the session (FATAL) or reports something on its own.
      this.onUpstreamError(error);
      return;
    }
    switch (head.kind) {
      case 'query': {
        let failing = head.index;
        if (error.position !== undefined && head.pieces.length > 1) {
          // A position in a later statement means the string failed to parse: nothing before it ran.
          const at = head.pieces.findIndex((piece) => error.position! - 1 >= piece.start && error.position! - 1 <= piece.end);
          if (at > head.index) failing = at;
        }
        head.statements.forEach((statement, i) => {
          if (i < head.index) return;
          if (i === failing) this.finish(statement, outcome);
          else this.finish(statement, skipped('an earlier error ended the query string'));
        });
        head.index = head.statements.length;
        head.errored = true;
        return;
      }
      case 'function':
        this.finish(head.statement, outcome);
        return;
      case 'execute':
        this.pop();
        head.portal.run = null;
        this.unsuspend(head.portal);
        this.finish(head.statement, { ...outcome, rowCount: head.portal.rows || null });
        this.skipToSync(null);
        return;
      case 'parse':
      case 'bind':
      case 'describe':
      case 'close': {
        this.pop();
        const phase = head.kind;
        const attributed = phase === 'parse' || phase === 'bind' ? this.skipToSync({ ...outcome, details: { ...outcome.details, phase } }) : this.skipToSync(null);
        if (!attributed && (phase === 'parse' || phase === 'bind')) {
          // The failing statement was never executed in this batch: it still gets a row.
          const text = head.kind === 'parse' ? head.text : head.kind === 'bind' ? head.portal.text : '';
          const params = head.kind === 'bind' ? head.portal.params : null;
          const statement = this.queries.begin({ protocol: 'extended', statement: text, params, details: head.kind === 'parse' ? head.textDetails : head.portal.textDetails });
          this.finish(statement, { ...outcome, details: { ...outcome.details, phase } });
        }
        return;
      }
      case 'sync': {
        // An error while ending the implicit transaction at Sync (a deferred constraint, say).
        const statement = this.queries.begin({ protocol: 'extended', statement: 'COMMIT (implicit, at Sync)', details: { phase: 'sync' } });
        this.finish(statement, outcome);
        return;
      }
    }
  }

  /**
   * After an error in the extended protocol the server discards everything up to Sync.
   * Executes in that stretch become `skipped` rows — except the first, when `failure` is
   * given: the statement whose Parse or Bind failed. Returns whether it was attributed.
   */
  private skipToSync(failure: StatementOutcome | null): boolean {
    let attributed = false;
    while (this.head < this.expected.length) {
      const next = this.expected[this.head]!;
      if (next.kind === 'sync') return attributed;
      this.pop();
      if (next.kind === 'execute') {
        next.portal.run = null;
        if (failure && !attributed) {
          this.finish(next.statement, failure);
          attributed = true;
        } else {
          this.finish(next.statement, skipped('an earlier error in the pipeline: the server skips messages until the next Sync'));
        }
      } else if (next.kind === 'query' || next.kind === 'function') {
        for (const statement of next.kind === 'query' ? next.statements : [next.statement]) {
          this.finish(statement, skipped('an earlier error in the pipeline: the server skips messages until the next Sync'));
        }
      }
    }
    this.skipUntilSync = true;
    return attributed;
  }

  private readyForQuery(status: 'I' | 'T' | 'E'): void {
    this.transactionStatus = status;
    const head = this.pop();
    if (head?.kind === 'query') {
      head.statements.forEach((statement, i) => {
        if (i >= head.index) {
          this.finish(statement, { status: 'ok', details: { note: 'no completion was reported for this part; the server ran it as part of the previous statement' } });
        }
      });
    } else if (head && head.kind !== 'sync' && head.kind !== 'function') {
      this.mismatch(`ReadyForQuery while expecting ${head.kind}`);
      this.resync();
    } else if (head?.kind === 'function' && !head.statement.finished) {
      this.finish(head.statement, { status: 'ok' });
    }
    if (status === 'I' && this.portals.size > 0) {
      // The transaction ended: every portal is gone, suspended runs included.
      if (this.suspendedRuns > 0) for (const name of [...this.portals.keys()]) this.closePortal(name, 'the transaction ended');
      this.portals.clear();
    }
  }

  private parameterDescription(body: Buffer): void {
    const head = this.peek();
    if (head?.kind !== 'describe' || head.target !== 'S') return;
    const prepared = this.statements.get(head.objectName);
    if (!prepared || body.length < 2) return;
    const count = body.readInt16BE(0);
    const types: number[] = [];
    for (let i = 0; i < count && 2 + i * 4 + 4 <= body.length; i++) types.push(body.readUInt32BE(2 + i * 4));
    prepared.paramTypes = types;
  }

  // ---------------------------------------------------------------- helpers

  private closePortal(name: string, reason: string): void {
    const portal = this.portals.get(name);
    if (!portal) return;
    this.portals.delete(name);
    if (!portal.run) return;
    // While an Execute on it is in flight, the run ends when that Execute's answer arrives.
    if (this.isExpected(portal.run)) portal.closedBy = reason;
    else this.finishSuspended(portal, reason);
  }

  private unsuspend(portal: Portal): void {
    if (!portal.suspended) return;
    portal.suspended = false;
    this.suspendedRuns -= 1;
  }

  /** A run stopped by a row limit whose portal then went away before it completed. */
  private finishSuspended(portal: Portal, reason: string): void {
    const run = portal.run;
    portal.run = null;
    this.unsuspend(portal);
    if (run && !run.finished) {
      this.finish(run, { status: 'ok', rowCount: portal.rows, details: { suspended: true, executes: portal.executes, endedBy: reason } });
    }
  }

  private isExpected(statement: CapturedStatement): boolean {
    for (let i = this.head; i < this.expected.length; i++) {
      const item = this.expected[i]!;
      if (item.kind === 'execute' && item.statement === statement) return true;
    }
    return false;
  }

  /** The statement the next DataRow/COPY belongs to. */
  private current(): CapturedStatement | null {
    const head = this.peek();
    if (head?.kind === 'execute') return head.statement;
    if (head?.kind === 'query') return head.statements[head.index] ?? null;
    return null;
  }

  private finish(statement: CapturedStatement, outcome: StatementOutcome): void {
    this.queries.finish(statement, outcome);
  }

  private expect(item: Expectation): void {
    this.expected.push(item);
  }

  private peek(): Expectation | undefined {
    return this.expected[this.head];
  }

  private pop(): Expectation | undefined {
    const item = this.expected[this.head];
    if (item === undefined) return undefined;
    this.head += 1;
    if (this.head === this.expected.length) {
      this.expected.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.expected.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Drops expectations up to the next point of agreement, recording what they leave open. */
  private resync(): void {
    while (this.head < this.expected.length) {
      const item = this.pop()!;
      if (item.kind === 'execute' || item.kind === 'function') this.finish(item.statement, { status: 'unfinished', details: { note: 'the gateway lost track of this statement' } });
      if (item.kind === 'query') for (const s of item.statements) if (!s.finished) this.finish(s, { status: 'unfinished', details: { note: 'the gateway lost track of this statement' } });
      if (item.kind === 'sync') return;
    }
  }

  private mismatch(what: string): void {
    this.logger.warn('postgres capture: unexpected server message', { what, expecting: this.peek()?.kind ?? null, sessionId: this.queries.meta.sessionId });
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key) && map.size >= MAX_NAMED) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
    map.set(key, value);
  }
}

const DESCRIBE_PORTAL: Expectation = { kind: 'describe', target: 'P', objectName: '' };
const CLOSE: Expectation = { kind: 'close' };
const SYNC: Expectation = { kind: 'sync' };

/** The details every row of a portal carries (which prepared statement, which portal). */
function portalDetails(portal: Portal, maxRows: number): Record<string, unknown> | null {
  if (!portal.textDetails && !portal.statementName && !portal.name && maxRows === 0) return null;
  const details: Record<string, unknown> = { ...portal.textDetails };
  if (portal.statementName) details.statementName = portal.statementName;
  if (portal.name) details.portal = portal.name;
  if (maxRows > 0) details.maxRows = maxRows;
  return shareDetails(details);
}

function skipped(reason: string): StatementOutcome {
  return { status: 'skipped', details: { skippedBecause: reason } };
}

function cstring(body: Buffer): string {
  const end = body.indexOf(0);
  return body.toString('utf8', 0, end < 0 ? body.length : end);
}

/** The row count at the end of a command tag: SELECT n, INSERT oid n, UPDATE n, DELETE n, MERGE n, FETCH n, MOVE n, COPY n. */
export function rowCountOf(tag: string | null): number | null {
  if (!tag) return null;
  const space = tag.lastIndexOf(' ');
  if (space < 0) return null;
  const command = tag.slice(0, tag.indexOf(' '));
  if (!ROW_COUNT_COMMANDS.has(command)) return null;
  const count = Number(tag.slice(space + 1));
  return Number.isSafeInteger(count) ? count : null;
}

function isRowReturning(tag: string | null): boolean {
  return tag !== null && (tag.startsWith('SELECT') || tag.startsWith('FETCH'));
}

const ROW_COUNT_COMMANDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'FETCH', 'MOVE', 'COPY']);
