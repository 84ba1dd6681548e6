import { CustosError } from '../core/errors.js';

/**
 * Failures of the protocol front ends, with a message that is safe to show the operator:
 * `upstream_unreachable`, `upstream_auth_failed`, `host_key_mismatch`, `credentials_missing`,
 * `protocol`, `refused`.
 */
export class ProxyError extends CustosError {
  readonly layer = 'proxy';
}
