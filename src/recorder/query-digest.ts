import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { NewQueryRow } from '../store/repositories/queries.js';

/**
 * A running sha256 over a session's captured statements in seq order, one canonical JSON
 * line per row as stored. The session's end event carries it (and the audit chain protects
 * the event), so an edited, deleted or inserted query row is detectable later.
 */
export class QueryDigest {
  private readonly hash: Hash = createHash('sha256');
  count = 0;

  add(row: NewQueryRow): void {
    this.hash.update(queryDigestLine(row));
    this.count += 1;
  }

  /** `sha256:<hex>`; the digest cannot be extended after this. */
  finish(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export function queryDigestLine(row: NewQueryRow): string {
  return (
    canonicalJson([
      row.sessionId,
      row.seq,
      row.identityId,
      row.identityName,
      row.target,
      row.database,
      row.dbUser,
      row.protocol,
      row.statement,
      row.params,
      row.startedAt.toISOString(),
      row.durationMs,
      row.commandTag,
      row.rowCount,
      row.status,
      row.sqlstate,
      row.errorMessage,
      row.details,
    ]) + '\n'
  );
}
