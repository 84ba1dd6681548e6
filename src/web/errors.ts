import { CustosError } from '../core/errors.js';

/** Web API failures: `unauthorized`, `forbidden`, `not_found`, `bad_request`, `rate_limited`. */
export class WebError extends CustosError {
  readonly layer = 'web';
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}
