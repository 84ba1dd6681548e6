import { CustosError } from '../core/errors.js';

/**
 * Failures of a protocol front end: malformed or hostile client input (`protocol_violation`,
 * `message_too_large`, `startup_timeout`), upstream trouble (`upstream_unreachable`,
 * `upstream_login_failed`, `upstream_protocol`), and refusals (`tls_required`,
 * `too_many_connections`). `message` is safe to show the client.
 */
export class ProxyError extends CustosError {
  readonly layer = 'proxy';
}
