import { canonicalDetails } from '../core/shared-details.js';
import { QUERY_LINE_COLUMNS } from './query-lines.js';
import type { queries } from './schema/index.js';

type NewQueryRow = Omit<typeof queries.$inferSelect, 'id'>;

/**
 * A captured statement as one line of PostgreSQL's COPY text format (tab-separated, `\N` for
 * null, backslash escapes), columns in QUERY_LINE_COLUMNS order: what the query log's batches
 * send with `COPY queries (…) FROM STDIN`. The server parses these lines without building a
 * jsonb document of the whole batch first, which costs it about half as much per row as
 * expanding a JSON array. Times are ISO 8601 in UTC with milliseconds, as captured.
 */
export const QUERY_COPY_COLUMNS = QUERY_LINE_COLUMNS.join(', ');

/** The columns every row of a session shares, escaped once per session (ends with a tab). */
export function queryCopyPrefix(row: Pick<NewQueryRow, 'sessionId' | 'identityId' | 'identityName' | 'target' | 'database' | 'dbUser'>): string {
  return `${[row.sessionId, row.identityId, row.identityName, row.target, row.database, row.dbUser].map(copyText).join('\t')}\t`;
}

/** One row, newline included. Joined from an array: one flat string (a long concatenation would stay a tree of pieces while it waits for its batch, and the collector would copy each piece). */
export function queryCopyLine(row: NewQueryRow, prefix: string = queryCopyPrefix(row)): string {
  return [
    prefix + String(row.seq),
    row.protocol,
    copyText(row.statement),
    // Into jsonb, which orders object keys itself: no need for orderedParam here.
    row.params === null ? NULL : copyText(JSON.stringify(row.params)),
    row.startedAt.toISOString(),
    copyValue(row.durationMs),
    copyNullable(row.commandTag),
    copyValue(row.rowCount),
    row.status,
    copyNullable(row.sqlstate),
    copyNullable(row.errorMessage),
    `${row.details === null ? NULL : copyText(canonicalDetails(row.details))}\n`,
  ].join('\t');
}

const NULL = '\\N';
/** The characters COPY text format gives a meaning: escaped, everything else is taken as is. */
const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function copyText(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (char) => ESCAPES[char]!) : value;
}

function copyNullable(value: string | null): string {
  return value === null ? NULL : copyText(value);
}

function copyValue(value: number | null): string {
  return value === null ? NULL : String(value);
}
