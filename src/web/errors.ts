import { CustosError } from '../core/errors.js';

/** Web API failures: `unauthorized`, `forbidden`, `not_found`, `bad_request`, `rate_limited`, `unavailable`. */
export class WebError extends CustosError {
  readonly layer = 'web';
  constructor(
    code: string,
    message: string,
    readonly status: number,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

export const unauthorized = (message = 'sign in first') => new WebError('unauthorized', message, 401);
export const forbidden = (message: string) => new WebError('forbidden', message, 403);
export const notFound = (message: string) => new WebError('not_found', message, 404);
export const badRequest = (message: string) => new WebError('bad_request', message, 400);
export const unavailable = (message: string) => new WebError('unavailable', message, 503);
