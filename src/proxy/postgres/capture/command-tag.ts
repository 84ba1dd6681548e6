/** The row count at the end of a command tag: SELECT n, INSERT oid n, UPDATE n, DELETE n, MERGE n, FETCH n, MOVE n, COPY n. */
export function rowCountOf(tag: string | null): number | null {
  if (!tag) return null;
  const space = tag.lastIndexOf(' ');
  if (space < 0) return null;
  const command = tag.slice(0, tag.indexOf(' '));
  if (!ROW_COUNT_COMMANDS.has(command)) return null;
  const count = Number(tag.slice(space + 1));
  return Number.isSafeInteger(count) ? count : null;
}

/** Tags of commands whose row count is the number of rows returned (a suspended run counts them all). */
export function isRowReturning(tag: string | null): boolean {
  return tag !== null && (tag.startsWith('SELECT') || tag.startsWith('FETCH'));
}

const ROW_COUNT_COMMANDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'FETCH', 'MOVE', 'COPY']);
