import { CustosError } from '../core/errors.js';

/**
 * Evidence could not be written: `audit_unavailable`, `audit_overloaded`,
 * `recording_failed`, `query_log_failed`. Sessions fail closed on these.
 */
export class RecorderError extends CustosError {
  readonly layer = 'recorder';
}
