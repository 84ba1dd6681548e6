import { createHash, type Hash } from 'node:crypto';
import { queryRowLine } from '../store/query-lines.js';
import type { NewQueryRow } from '../store/repositories/queries.js';

/**
 * A running sha256 over a session's captured statements in seq order: each row's query line
 * (store/query-lines.ts) and a newline. The session's
 * end event carries it, and the audit chain protects the event, so an edited, deleted or
 * inserted query row is detectable later.
 */
export class QueryDigest {
  private readonly hash: Hash = createHash('sha256');
  count = 0;

  addLine(line: string): void {
    this.hash.update(`${line}\n`);
    this.count += 1;
  }

  /** The same as adding each line, in one call. */
  addLines(lines: string[]): void {
    this.hash.update(`${lines.join('\n')}\n`);
    this.count += lines.length;
  }

  /** A row read back from the store. */
  add(row: NewQueryRow): void {
    this.addLine(queryRowLine(row));
  }

  /** `sha256:<hex>`; the digest cannot be extended after this. */
  finish(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
