import { CustosError } from '../core/errors.js';

/** Command-line usage problems (`usage`) and failures reported to the user (`failed`). */
export class CliError extends CustosError {
  readonly layer = 'cli';
}

/**
 * Exit codes: 0 success; 1 the command ran and failed (store unreachable, chain broken);
 * 2 the request itself is wrong (bad arguments, invalid resources, unknown names).
 */
export function exitCodeFor(err: unknown): number {
  const { layer, code } = err as { layer?: string; code?: string };
  if (layer === 'policy' || layer === 'core' || layer === 'cli') return 2;
  if (layer === 'admin' && (code === 'invalid_argument' || code === 'unknown_operation' || code === 'not_found')) return 2;
  if (layer === 'store' && (code === 'not_found' || code === 'invalid')) return 2;
  if (layer === 'api' && (code === 'refused' || code === 'bad_request' || code === 'not_found')) return 2;
  return 1;
}
