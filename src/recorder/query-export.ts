import { exportFormat } from './export-format.js';

/**
 * The query-log export format, the same from `custos queries` and from the viewer: the
 * columns in this order are the CSV header and the JSON lines keys alike.
 */
export const QUERY_EXPORT_COLUMNS = [
  'id',
  'started_at',
  'identity',
  'identity_id',
  'session_id',
  'seq',
  'target',
  'database',
  'db_user',
  'protocol',
  'statement',
  'params',
  'status',
  'command_tag',
  'row_count',
  'duration_ms',
  'sqlstate',
  'error_message',
  'details',
  'ticket',
] as const;

export type QueryExportRecord = Record<(typeof QUERY_EXPORT_COLUMNS)[number], unknown>;

/** A stored statement, as the store returns it or as it crossed the admin socket (dates as ISO strings). */
export interface ExportableQuery {
  id: number;
  sessionId: string;
  seq: number;
  identityId: string;
  identityName: string;
  target: string;
  database: string;
  dbUser: string;
  protocol: string;
  statement: string;
  params: unknown;
  startedAt: Date | string;
  durationMs: number | null;
  commandTag: string | null;
  rowCount: number | null;
  status: string;
  sqlstate: string | null;
  errorMessage: string | null;
  details: unknown;
  /** The approval ticket of the statement's session (null without one). */
  ticket?: string | null;
}

export function exportRecord(row: ExportableQuery): QueryExportRecord {
  return {
    id: row.id,
    started_at: row.startedAt instanceof Date ? row.startedAt.toISOString() : row.startedAt,
    identity: row.identityName,
    identity_id: row.identityId,
    session_id: row.sessionId,
    seq: row.seq,
    target: row.target,
    database: row.database,
    db_user: row.dbUser,
    protocol: row.protocol,
    statement: row.statement,
    params: row.params,
    status: row.status,
    command_tag: row.commandTag,
    row_count: row.rowCount,
    duration_ms: row.durationMs,
    sqlstate: row.sqlstate,
    error_message: row.errorMessage,
    details: row.details,
    ticket: row.ticket ?? null,
  };
}

const format = exportFormat(QUERY_EXPORT_COLUMNS, exportRecord);

export const queryCsvHeader = format.csvHeader;
/** One CSV record (RFC 4180; cells a spreadsheet would run as a formula are neutralized). */
export const queryCsvLine = format.csvLine;
/** One JSON line, with the exact values. */
export const queryJsonLine = format.jsonLine;
