import type { CapturedStatement } from '../../../recorder/query-log.js';
import type { StatementPiece } from '../sql-split.js';
import type { PendingChange, Settleable } from './prepared-names.js';
import type { Portal, PreparedStatement } from './prepared-objects.js';
import type { SessionCommand } from './session-commands.js';

/**
 * What each request sent upstream still expects from the server. The server answers in order,
 * so one queue of these ties every answer to its request.
 */
export type Expectation =
  | QueryExpectation
  | ParseExpectation
  | BindExpectation
  | DescribeExpectation
  | ExecuteExpectation
  | CloseExpectation
  | SyncExpectation
  | FunctionExpectation;

/** The session commands of one statement, and their pending changes. */
export interface CommandChanges {
  command: SessionCommand;
  changes: Settleable[];
}

export interface QueryExpectation {
  kind: 'query';
  /** One row per statement of the query string. */
  statements: CapturedStatement[];
  pieces: StatementPiece[];
  /** Per piece: its session command, if it has one. */
  commands: Array<CommandChanges | null>;
  /** What any Query does: drops the unnamed statement and portal (and portals, when it ends the transaction). */
  implicit: Settleable[];
  /** The change "the transaction ended", settled by the status at ReadyForQuery. */
  transactionEnd: Settleable | null;
  /** The piece the next completion belongs to. */
  index: number;
  rows: number;
}

export interface ParseExpectation {
  kind: 'parse';
  key: string;
  statement: PreparedStatement;
  change: PendingChange<PreparedStatement>;
}

export interface BindExpectation {
  kind: 'bind';
  portal: Portal;
  change: PendingChange<Portal>;
}

export interface DescribeExpectation {
  kind: 'describe';
  target: 'S' | 'P';
  key: string;
}

export interface ExecuteExpectation {
  kind: 'execute';
  portal: Portal;
  statement: CapturedStatement;
  command: CommandChanges | null;
  /** A portal the gateway did not see opened, counted until the server shows whether it holds it. */
  unknownKey: string | null;
}

export interface CloseExpectation {
  kind: 'close';
  change: Settleable;
}

export interface SyncExpectation {
  kind: 'sync';
  /** "The transaction ended", settled by the status at ReadyForQuery. */
  transactionEnd: Settleable;
}

export interface FunctionExpectation {
  kind: 'function';
  statement: CapturedStatement;
}
