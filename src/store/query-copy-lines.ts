import { canonicalDetails } from '../core/shared-details.js';
import { orderedParam, QUERY_LINE_COLUMNS } from './query-lines.js';
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

/** One row, newline included. */
export function queryCopyLine(row: NewQueryRow, prefix: string = queryCopyPrefix(row)): string {
  return (
    `${prefix}${row.seq}\t${row.protocol}\t${copyText(row.statement)}\t` +
    `${row.params === null ? NULL : copyText(JSON.stringify(row.params.map(orderedParam)))}\t` +
    `${row.startedAt.toISOString()}\t${copyValue(row.durationMs)}\t${copyNullable(row.commandTag)}\t${copyValue(row.rowCount)}\t` +
    `${row.status}\t${copyNullable(row.sqlstate)}\t${copyNullable(row.errorMessage)}\t` +
    `${row.details === null ? NULL : copyText(canonicalDetails(row.details))}\n`
  );
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
