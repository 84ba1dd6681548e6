import { TRANSACTION_END, type CaptureState } from './capture-state.js';
import type { CommandChanges } from './expectations.js';
import { sqlNameKey } from './name-keys.js';
import type { Settleable } from './prepared-names.js';
import { newPortal, textBytes, type Portal, type PreparedStatement } from './prepared-objects.js';
import { confirmedBy, type SessionCommand } from './session-commands.js';

/**
 * The pending changes a session command makes to the prepared statements and portals, made
 * when its statement is captured and settled by its command tag. `active` is the portal that
 * runs it (CLOSE ALL and DISCARD ALL leave the running portal alone).
 */
export function expectCommand(
  s: CaptureState,
  command: SessionCommand | null,
  text: string,
  textDetails: Record<string, unknown> | null,
  active: Portal | null = null,
): CommandChanges | null {
  if (!command) return null;
  const key = (name: string) => sqlNameKey(name, s.decoding.name);
  const changes: Settleable[] = [];
  switch (command.kind) {
    case 'prepare': {
      // A name the gateway cannot read is left out: a Bind of it then shows as unknown.
      const k = key(command.name);
      if (k === null) break;
      const statement: PreparedStatement = { name: command.name, text, textDetails, paramTypes: [], command: null, bytes: textBytes(text, textDetails) };
      changes.push(s.statements.expect({ kind: 'define', key: k, value: statement, replacedBecause: 'replaced by PREPARE' }, s.batch));
      break;
    }
    case 'deallocate': {
      const k = key(command.name);
      if (k !== null) changes.push(s.statements.expect({ kind: 'remove', key: k, reason: 'DEALLOCATE' }, s.batch));
      break;
    }
    case 'deallocateAll':
      changes.push(s.statements.expect({ kind: 'removeAll', reason: 'DEALLOCATE ALL' }, s.batch));
      break;
    case 'discardAll':
      changes.push(
        s.statements.expect({ kind: 'removeAll', reason: 'DISCARD ALL' }, s.batch),
        s.portals.expect({ kind: 'removeAll', reason: 'DISCARD ALL', keep: (portal) => portal === active }, s.batch),
      );
      break;
    case 'declare': {
      const k = key(command.name);
      if (k === null) break;
      const portal = newPortal({ name: command.name, statementName: '', statement: null, text, textDetails, params: [], command: null, holdable: command.hold, bytes: textBytes(text, textDetails) });
      changes.push(s.portals.expect({ kind: 'define', key: k, value: portal, replacedBecause: 'replaced by DECLARE' }, s.batch));
      break;
    }
    case 'closeCursor': {
      const k = key(command.name);
      if (k !== null) changes.push(s.portals.expect({ kind: 'remove', key: k, reason: 'closed by CLOSE' }, s.batch));
      break;
    }
    case 'closeAllCursors':
      changes.push(s.portals.expect({ kind: 'removeAll', reason: 'closed by CLOSE ALL', keep: (portal) => portal === active }, s.batch));
      break;
    case 'endTransaction':
      changes.push(s.portals.expect(TRANSACTION_END, s.batch));
      break;
  }
  return { command, changes };
}

/** The server reported `tag` for the command's statement (null: it failed or did not run). */
export function settleCommand(command: CommandChanges | null, tag: string | null): void {
  if (!command) return;
  const applied = confirmedBy(command.command, tag);
  for (const change of command.changes) change.settle(applied);
}
