import { exportFormat } from './export-format.js';

/**
 * The Kubernetes request log export format, the same from `custos kube-requests` and the
 * viewer's downloads: these columns, in this order, are the CSV header and the JSON lines
 * keys alike.
 */
export const KUBE_REQUEST_EXPORT_COLUMNS = [
  'id',
  'started_at',
  'identity',
  'identity_id',
  'session_id',
  'seq',
  'target',
  'method',
  'verb',
  'api_group',
  'api_version',
  'resource',
  'subresource',
  'namespace',
  'name',
  'path',
  'decision',
  'reason',
  'kube_user',
  'kube_groups',
  'code',
  'duration_ms',
  'request_bytes',
  'response_bytes',
  'client_addr',
  'user_agent',
  'details',
] as const;

export type KubeRequestExportRecord = Record<(typeof KUBE_REQUEST_EXPORT_COLUMNS)[number], unknown>;

/** A stored request, as the store returns it or as it crossed the admin socket (dates as ISO strings). */
export interface ExportableKubeRequest {
  id: number;
  sessionId: string;
  seq: number;
  identityId: string;
  identityName: string;
  target: string;
  method: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
  decision: string;
  reason: string | null;
  kubeUser: string | null;
  kubeGroups: unknown;
  startedAt: Date | string;
  code: number | null;
  durationMs: number | null;
  requestBytes: number | null;
  responseBytes: number | null;
  clientAddr: string | null;
  userAgent: string | null;
  details: unknown;
}

export function kubeRequestRecord(row: ExportableKubeRequest): KubeRequestExportRecord {
  return {
    id: row.id,
    started_at: row.startedAt instanceof Date ? row.startedAt.toISOString() : row.startedAt,
    identity: row.identityName,
    identity_id: row.identityId,
    session_id: row.sessionId,
    seq: row.seq,
    target: row.target,
    method: row.method,
    verb: row.verb,
    api_group: row.apiGroup,
    api_version: row.apiVersion,
    resource: row.resource,
    subresource: row.subresource,
    namespace: row.namespace,
    name: row.name,
    path: row.path,
    decision: row.decision,
    reason: row.reason,
    kube_user: row.kubeUser,
    kube_groups: row.kubeGroups,
    code: row.code,
    duration_ms: row.durationMs,
    request_bytes: row.requestBytes,
    response_bytes: row.responseBytes,
    client_addr: row.clientAddr,
    user_agent: row.userAgent,
    details: row.details,
  };
}

const format = exportFormat(KUBE_REQUEST_EXPORT_COLUMNS, kubeRequestRecord);

export const kubeRequestCsvHeader = format.csvHeader;
/** One CSV record (RFC 4180; cells a spreadsheet would run as a formula are neutralized). */
export const kubeRequestCsvLine = format.csvLine;
/** One JSON line, with the exact values. */
export const kubeRequestJsonLine = format.jsonLine;
