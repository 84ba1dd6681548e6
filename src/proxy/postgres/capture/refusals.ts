import { ProxyError } from '../../errors.js';
import { PREPARED_LIMIT } from './capture-budget.js';

/** ProxyError code: a pipeline whose effect on prepared statements the gateway cannot follow exactly. */
export const UNFOLLOWABLE_PIPELINE = 'unfollowable_pipeline';

/** How a session is ended when the capture refuses a message (the one place these meet the wire). */
export interface CaptureRefusal {
  sqlstate: string;
  message: string;
  hint?: string;
  /** The protocol.violation code of the audit event. */
  violation: string;
}

/** The wire form of a capture refusal, or null for any other error. */
export function captureRefusal(err: unknown): CaptureRefusal | null {
  if (!(err instanceof ProxyError)) return null;
  if (err.code === PREPARED_LIMIT) {
    return {
      // configuration_limit_exceeded: the server's own class for resource limits.
      sqlstate: '53400',
      message: `${err.message}; the gateway must keep each one to record what runs, so the session is ended`,
      hint: 'close or DEALLOCATE prepared statements the application no longer uses, or ask the gateway administrator to raise the limit',
      violation: 'prepared_statement_limit',
    };
  }
  if (err.code === UNFOLLOWABLE_PIPELINE) {
    return { sqlstate: '0A000', message: `${err.message}, so the session is ended`, hint: 'send Sync before a simple Query', violation: 'unfollowable_pipeline' };
  }
  return null;
}
