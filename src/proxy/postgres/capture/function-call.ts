import type { StatementOutcome } from '../../../recorder/query-log.js';
import { captureValue } from '../capture-params.js';
import type { FrontendMessage } from '../protocol/frontend-messages.js';
import { SKIPPED_IN_PIPELINE, skipped, type CaptureState } from './capture-state.js';
import type { FunctionExpectation } from './expectations.js';

/** FunctionCall ('F'): one row with the function OID and its arguments. */
export class FunctionCallCapture {
  constructor(private readonly s: CaptureState) {}

  capture(message: Extract<FrontendMessage, { name: 'functionCall' }>): void {
    const s = this.s;
    const { oid, args, argFormats } = message;
    const params = args.map((arg, i) => captureValue(arg, (argFormats.length === 1 ? argFormats[0] : argFormats[i]) === 1 ? 'binary' : 'text', 0, s.decoding));
    const statement = s.begin({ protocol: 'function', statement: `function call (oid ${oid})`, params, details: { functionOid: oid } });
    if (s.skipUntilSync) {
      s.finish(statement, skipped(SKIPPED_IN_PIPELINE));
      return;
    }
    s.queue.push({ kind: 'function', statement });
  }

  /** FunctionCallResponse: the call returned. */
  returned(head: FunctionExpectation): void {
    this.s.finish(head.statement, { status: 'ok' });
  }

  /** An error answers the call; unlike the extended protocol, nothing after it is skipped. */
  failed(head: FunctionExpectation, outcome: StatementOutcome): void {
    this.s.finish(head.statement, outcome);
  }

  /** ReadyForQuery ends the call. */
  ready(head: FunctionExpectation): void {
    if (!head.statement.finished) this.s.finish(head.statement, { status: 'ok' });
  }
}
