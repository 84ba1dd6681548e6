import { CustosError } from '../core/errors.js';

/**
 * Failures of the protocol front ends, with a message that is safe to show the operator or
 * client: malformed or hostile client input (`protocol_violation`, `message_too_large`,
 * `startup_timeout`, `protocol`), upstream trouble (`upstream_unreachable`,
 * `upstream_auth_failed`, `upstream_login_failed`, `upstream_protocol`, `host_key_mismatch`,
 * `credentials_missing`), and refusals (`refused`, `tls_required`, `too_many_connections`).
 */
export class ProxyError extends CustosError {
  readonly layer = 'proxy';
}
