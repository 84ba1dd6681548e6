import { canonicalJson } from './canonical-json.js';

const CANONICAL = Symbol('custos.canonicalJson');
type Marked = { [CANONICAL]?: string };

/**
 * Marks a details object that many query-log rows share (one per prepared statement or
 * portal) so that its canonical JSON is computed once, here, instead of once per row.
 */
export function shareDetails<T extends Record<string, unknown>>(details: T): T {
  Object.defineProperty(details, CANONICAL, { value: canonicalJson(details) });
  return details;
}

/** The canonical JSON of a details object, memoized when it was shared. */
export function canonicalDetails(details: Record<string, unknown>): string {
  return (details as Marked)[CANONICAL] ?? canonicalJson(details);
}
