/**
 * One bound parameter value as the query log keeps it: captured by the PostgreSQL front end,
 * stored in the `queries.params` column, exported as is.
 */
export interface CapturedParam {
  /** Type OID the client declared (0 = unspecified). */
  oid: number;
  format: 'text' | 'binary';
  /** Text parameters as text, binary ones as base64; null for SQL NULL. */
  value: string | null;
  /** Present when a text parameter's bytes are not valid text in the client encoding: `value` is then base64. */
  encoding?: 'base64';
  /** Present when the value was too large to keep whole: its size, its sha256, and `value` holds a prefix. */
  truncated?: { bytes: number; sha256: string };
}
