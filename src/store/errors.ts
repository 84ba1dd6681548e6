import { CustosError } from '../core/errors.js';

/**
 * Store failures. Codes: `unavailable` (cannot reach or open the database), `conflict`
 * (a concurrent change; retry), `not_found`, `locked` (another process holds the embedded
 * store), `invalid` (a write the schema refuses), `internal`.
 */
export class StoreError extends CustosError {
  readonly layer = 'store';
}
