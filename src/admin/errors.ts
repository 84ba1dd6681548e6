import { CustosError } from '../core/errors.js';

/** Admin operations and their socket: `invalid_argument`, `unknown_operation`, `unavailable`, `protocol`. */
export class AdminError extends CustosError {
  readonly layer = 'admin';
}
