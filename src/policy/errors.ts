import { CustosError } from '../core/errors.js';

/**
 * Identity, resource and access failures. Codes include `invalid_resource`, `unknown_kind`,
 * `missing_reference`, `not_found`, `unknown_credential`, `token_expired`, `token_revoked`,
 * `access_denied`.
 */
export class PolicyError extends CustosError {
  readonly layer = 'policy';
  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; source?: string; documentIndex?: number },
  ) {
    super(code, message, options);
    this.source = options?.source;
    this.documentIndex = options?.documentIndex;
  }
  /** The file a resource came from, when the error is about one. */
  readonly source: string | undefined;
  /** 1-based index of the YAML document in that file. */
  readonly documentIndex: number | undefined;
}
