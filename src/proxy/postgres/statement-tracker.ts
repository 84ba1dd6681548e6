import type { Logger } from '../../core/logger.js';
import type { StatementOutcome } from '../../recorder/query-log.js';
import type { PreparedLimits } from './capture/capture-budget.js';
import { CaptureState, TRANSACTION_END, type StatementSink } from './capture/capture-state.js';
import { CopyCapture } from './capture/copy-capture.js';
import type { Expectation } from './capture/expectations.js';
import { ExtendedQueryCapture } from './capture/extended-query.js';
import { FunctionCallCapture } from './capture/function-call.js';
import { SimpleQueryCapture } from './capture/simple-query.js';
import { decodingFor } from './client-encoding.js';
import { Backend, SqlState } from './protocol/codes.js';
import { parseErrorFields, type ReportedError } from './protocol/error-fields.js';
import type { FrontendMessage } from './protocol/frontend-messages.js';

/** Upstream message types whose bodies the tracker reads; all others are only counted. */
export const TRACKED_BODIES = [
  Backend.CommandComplete,
  Backend.ErrorResponse,
  Backend.ReadyForQuery,
  Backend.ParameterStatus,
  Backend.ParameterDescription,
];

export type { PreparedLimits };

/**
 * Follows one session's conversation and turns it into query-log rows: what the client asks
 * (seen before it is forwarded, so each statement is recorded before it runs), what the
 * server answers (completion, row counts, errors). This coordinator routes each message to
 * its phase — simple Query, extended protocol, COPY, FunctionCall — which share the queue of
 * requests awaiting answers and the session's prepared statements and portals.
 */
export class StatementTracker {
  private readonly s: CaptureState;
  private readonly simple: SimpleQueryCapture;
  private readonly extended: ExtendedQueryCapture;
  private readonly functions: FunctionCallCapture;
  private readonly copy = new CopyCapture();
  transactionStatus: 'I' | 'T' | 'E' = 'I';

  constructor(
    queries: StatementSink,
    logger: Logger,
    limits: PreparedLimits,
    private readonly onUpstreamError: (error: ReportedError) => void = () => undefined,
  ) {
    this.s = new CaptureState(queries, logger, limits);
    this.simple = new SimpleQueryCapture(this.s);
    this.extended = new ExtendedQueryCapture(this.s, (item, outcome) => this.skip(item, outcome));
    this.functions = new FunctionCallCapture(this.s);
  }

  /** Server parameters from the login (client_encoding, standard_conforming_strings). */
  setParameter(name: string, value: string): void {
    if (name === 'client_encoding') this.s.decoding = decodingFor(value);
    else if (name === 'standard_conforming_strings') this.s.standardConformingStrings = value === 'on';
  }

  /** Requests sent upstream whose answers have not all arrived. */
  get outstanding(): number {
    return this.s.queue.length;
  }

  // ---------------------------------------------------------------- client → server

  /**
   * Called for each complete client message before its bytes are forwarded. Returns false
   * when the message cannot be captured until the server has answered earlier requests (it
   * names a statement or portal whose definition is still unconfirmed); nothing was recorded
   * then, and the caller offers it again later. Throws RecorderError when the statement
   * cannot be recorded, ProxyError when the session must end (see capture/refusals.ts).
   */
  onClientMessage(message: FrontendMessage): boolean {
    switch (message.name) {
      case 'query':
        this.simple.capture(message.text);
        return true;
      case 'parse':
        this.extended.parse(message);
        return true;
      case 'bind':
        return this.extended.bind(message);
      case 'describe':
        this.extended.describe(message);
        return true;
      case 'execute':
        return this.extended.execute(message);
      case 'close':
        this.extended.close(message);
        return true;
      case 'sync':
        this.extended.sync();
        return true;
      case 'functionCall':
        this.functions.capture(message);
        return true;
      case 'copyData':
        this.copy.fromClient(message.length);
        return true;
      case 'flush':
      case 'copyDone':
      case 'copyFail':
      case 'terminate':
      case 'authResponse':
        return true;
    }
  }

  // ---------------------------------------------------------------- server → client

  /** Called for each upstream message (body only for TRACKED_BODIES), before it is forwarded. */
  onServerMessage(type: number, body: Buffer | null, bodyLength: number): void {
    const head = this.s.queue.peek();
    switch (type) {
      case Backend.DataRow:
        if (head?.kind === 'execute') head.portal.rows += 1;
        else if (head?.kind === 'query') head.rows += 1;
        return;
      case Backend.CopyData:
        this.copy.fromServer(bodyLength);
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
        if (head?.kind === 'parse' || head?.kind === 'bind' || head?.kind === 'close') {
          this.s.queue.shift();
          this.extended.confirmed(head);
        } else {
          this.s.mismatch(`completion '${String.fromCharCode(type)}'`);
        }
        return;
      case Backend.RowDescription:
      case Backend.NoData:
        if (head?.kind === 'describe') this.s.queue.shift();
        return;
      case Backend.ParameterDescription:
        if (head?.kind === 'describe') this.extended.parameterTypes(head, body!);
        return;
      case Backend.PortalSuspended:
        if (head?.kind === 'execute') {
          this.s.queue.shift();
          this.extended.suspended(head);
        }
        return;
      case Backend.CopyInResponse:
        if (head?.kind === 'execute' || head?.kind === 'query') this.copy.start('in');
        return;
      case Backend.CopyOutResponse:
      case Backend.CopyBothResponse:
        if (head?.kind === 'execute' || head?.kind === 'query') this.copy.start('out');
        return;
      case Backend.FunctionCallResponse:
        if (head?.kind === 'function') this.functions.returned(head);
        return;
      case Backend.ParameterStatus: {
        const text = body!.toString('utf8');
        const split = text.indexOf('\0');
        if (split > 0) this.setParameter(text.slice(0, split), text.slice(split + 1, text.indexOf('\0', split + 1)));
        return;
      }
    }
  }

  private commandComplete(tag: string | null): void {
    const head = this.s.queue.peek();
    const copy = this.copy.end();
    if (head?.kind === 'execute') {
      this.s.queue.shift();
      this.extended.complete(head, tag, copy);
    } else if (head?.kind === 'query') {
      this.simple.complete(head, tag, copy);
    } else {
      this.s.mismatch(`CommandComplete ${tag ?? '(empty query)'}`);
    }
  }

  private error(error: ReportedError): void {
    const outcome: StatementOutcome = {
      status: error.code === SqlState.queryCanceled ? 'cancelled' : 'error',
      sqlstate: error.code || null,
      errorMessage: error.message,
    };
    const copy = this.copy.end();
    if (copy) outcome.details = copy;
    const head = this.s.queue.peek();
    if (!head) {
      // Not an answer to a request: the server ends the session (FATAL) or reports something on its own.
      this.onUpstreamError(error);
      return;
    }
    if (head.kind === 'query') this.simple.failed(head, outcome, error.position);
    else if (head.kind === 'function') this.functions.failed(head, outcome);
    else this.extended.failed(head, outcome);
  }

  private readyForQuery(status: 'I' | 'T' | 'E'): void {
    this.transactionStatus = status;
    const head = this.s.queue.shift();
    switch (head?.kind) {
      case undefined:
        break;
      case 'query':
        this.simple.ready(head, status);
        break;
      case 'sync':
        head.transactionEnd.settle(status === 'I');
        break;
      case 'function':
        this.functions.ready(head);
        break;
      default:
        this.s.mismatch(`ReadyForQuery while expecting ${head!.kind}`);
        this.skip(head!, LOST_TRACK);
        this.resync();
    }
    // Outside a transaction no portal but a WITH HOLD cursor survives.
    if (status === 'I' && this.s.portals.size > 0) this.s.portals.apply(TRANSACTION_END);
  }

  /** Ends a queued request the server did not run (skipped after an error, or lost track of). */
  private skip(item: Expectation, outcome: StatementOutcome): void {
    switch (item.kind) {
      case 'query':
        return this.simple.skip(item, outcome);
      case 'execute':
        return this.extended.skipExecute(item, outcome);
      case 'function':
        return this.s.finish(item.statement, outcome);
      case 'parse':
      case 'bind':
      case 'close':
        return item.change.settle(false);
      case 'sync':
        return item.transactionEnd.settle(false);
      case 'describe':
        return;
    }
  }

  /** Drops expectations up to the next point of agreement (a Sync), recording what they leave open. */
  private resync(): void {
    let item: Expectation | undefined;
    while ((item = this.s.queue.shift())) {
      this.skip(item, LOST_TRACK);
      if (item.kind === 'sync') return;
    }
  }
}

const LOST_TRACK: StatementOutcome = { status: 'unfinished', details: { note: 'the gateway lost track of this statement' } };

function cstring(body: Buffer): string {
  const end = body.indexOf(0);
  return body.toString('utf8', 0, end < 0 ? body.length : end);
}
