import type { CapturedParam } from '../core/captured-param.js';
import { canonicalDetails } from '../core/shared-details.js';
import type { queries } from './schema/index.js';

type NewQueryRow = Omit<typeof queries.$inferSelect, 'id'>;

/**
 * A captured statement as one JSON array, columns in this order: what the query digest
 * hashes (the store receives the same columns as COPY lines, query-copy-lines.ts). The same row read back from
 * the store (where jsonb has reordered object keys) serializes to the same text: times are
 * epoch milliseconds, parameter objects are rebuilt with their keys in alphabetical order,
 * details are canonical JSON.
 */
export const QUERY_LINE_COLUMNS = [
  'session_id',
  'identity_id',
  'identity_name',
  'target',
  'database',
  'db_user',
  'seq',
  'protocol',
  'statement',
  'params',
  'started_at',
  'duration_ms',
  'command_tag',
  'row_count',
  'status',
  'sqlstate',
  'error_message',
  'details',
] as const;

export function queryRowLine(row: NewQueryRow, prefix: string = queryLinePrefix(row)): string {
  const tail = JSON.stringify([
    row.seq,
    row.protocol,
    row.statement,
    row.params === null ? null : row.params.map(orderedParam),
    row.startedAt.getTime(),
    row.durationMs,
    row.commandTag,
    row.rowCount,
    row.status,
    row.sqlstate,
    row.errorMessage,
  ]);
  return `${prefix}${tail.slice(1, -1)},${row.details === null ? 'null' : canonicalDetails(row.details)}]`;
}

/** The columns every row of a session shares, serialized once per session: `[session,identity id,…,db user,`. */
export function queryLinePrefix(row: Pick<NewQueryRow, 'sessionId' | 'identityId' | 'identityName' | 'target' | 'database' | 'dbUser'>): string {
  return `${JSON.stringify([row.sessionId, row.identityId, row.identityName, row.target, row.database, row.dbUser]).slice(0, -1)},`;
}

/** The outcome of a statement written earlier as unfinished: [session_id, seq, duration_ms, command_tag, row_count, status, sqlstate, error_message, details]. */
export function queryCompletionLine(row: NewQueryRow): string {
  const head = JSON.stringify([row.sessionId, row.seq, row.durationMs, row.commandTag, row.rowCount, row.status, row.sqlstate, row.errorMessage]);
  return `${head.slice(0, -1)},${row.details === null ? 'null' : canonicalDetails(row.details)}]`;
}

/** A captured parameter with its keys in alphabetical order. */
export function orderedParam(param: CapturedParam): CapturedParam {
  if (param.encoding === undefined && param.truncated === undefined) return { format: param.format, oid: param.oid, value: param.value };
  return {
    ...(param.encoding !== undefined ? { encoding: param.encoding } : {}),
    format: param.format,
    oid: param.oid,
    ...(param.truncated !== undefined ? { truncated: { bytes: param.truncated.bytes, sha256: param.truncated.sha256 } } : {}),
    value: param.value,
  };
}
