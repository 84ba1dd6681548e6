import type { CapturedParam } from '../../../core/captured-param.js';
import { shareDetails } from '../../../core/shared-details.js';
import type { CapturedStatement } from '../../../recorder/query-log.js';
import type { SessionCommand } from './session-commands.js';

/** A prepared statement the server holds (Parse, or SQL PREPARE). */
export interface PreparedStatement {
  /** As the client wrote it. */
  readonly name: string;
  readonly text: string;
  /** Set when `text` is not the exact bytes the client sent (see captureStatementText). */
  readonly textDetails: Record<string, unknown> | null;
  /** Types declared at Parse, or reported by the server on Describe. */
  paramTypes: number[];
  /** A session command the statement runs (DEALLOCATE …), whose effect the gateway follows. */
  readonly command: SessionCommand | null;
  readonly bytes: number;
  /** The details of rows that run it through the unnamed portal (shared, serialized once). */
  details?: Record<string, unknown> | null;
}

/** A portal the server holds (Bind, or SQL DECLARE), with the run of it in progress. */
export interface Portal {
  readonly name: string;
  readonly statementName: string;
  /** The statement it was bound from (null for a cursor declared in SQL or a portal the gateway did not see opened). */
  readonly statement: PreparedStatement | null;
  readonly text: string;
  readonly textDetails: Record<string, unknown> | null;
  readonly params: CapturedParam[];
  readonly command: SessionCommand | null;
  /** DECLARE … WITH HOLD: survives the end of its transaction. */
  readonly holdable: boolean;
  readonly bytes: number;
  /** Shared by every row of the portal: one object, serialized once. */
  details: Record<string, unknown> | null;
  /** The row of a run suspended by an Execute row limit, until the portal completes or goes away. */
  run: CapturedStatement | null;
  rows: number;
  executes: number;
  /** The run has been suspended at least once (PortalSuspended). */
  suspended: boolean;
}

export function newPortal(fields: Pick<Portal, 'name' | 'statementName' | 'statement' | 'text' | 'textDetails' | 'params' | 'command' | 'holdable' | 'bytes'>): Portal {
  // Every field spelled out: one object shape for every portal keeps the hot path fast.
  return {
    name: fields.name,
    statementName: fields.statementName,
    statement: fields.statement,
    text: fields.text,
    textDetails: fields.textDetails,
    params: fields.params,
    command: fields.command,
    holdable: fields.holdable,
    bytes: fields.bytes,
    details: null,
    run: null,
    rows: 0,
    executes: 0,
    suspended: false,
  };
}

/** The text logged for a Bind of a statement the gateway does not know (the server then normally refuses it). */
export function unknownStatementText(name: string): string {
  return `(unknown prepared statement "${name}")`;
}

/** The text logged for an Execute of a portal not opened through this session's messages. */
export function unknownPortalText(name: string): string {
  return `(unknown portal "${name}")`;
}

/** The details every row of a portal carries (which prepared statement, which portal). */
export function portalDetails(portal: Portal, maxRows: number): Record<string, unknown> | null {
  if (!portal.textDetails && !portal.statementName && !portal.name && maxRows === 0) return null;
  const details: Record<string, unknown> = { ...portal.textDetails };
  if (portal.statementName) details.statementName = portal.statementName;
  if (portal.name) details.portal = portal.name;
  if (maxRows > 0) details.maxRows = maxRows;
  return shareDetails(details);
}

/** What a value costs against the session's budget. */
export function paramBytes(params: readonly CapturedParam[]): number {
  let bytes = 0;
  for (const param of params) bytes += param.value?.length ?? 0;
  return bytes;
}

export function textBytes(text: string, details: Record<string, unknown> | null): number {
  const base64 = details?.statementBase64;
  return text.length + (typeof base64 === 'string' ? base64.length : 0);
}
