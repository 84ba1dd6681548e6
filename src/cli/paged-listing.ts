import { escapeControls } from './safe-text.js';
/** How a long listing is printed: pages of rows as they arrive, then a word at the end. */
export interface ListingWriter<T> {
  write(rows: T[]): void;
  end(count: number): void;
}

/** JSON lines or CSV: a header (if any), then one line per row. */
export function linesWriter<T>(header: string | null, line: (row: T) => string): ListingWriter<T> {
  if (header) process.stdout.write(header);
  return {
    write: (rows) => process.stdout.write(rows.map(line).join('')),
    end: () => undefined,
  };
}

/** Aligned columns; widths are fixed by the first page so later pages line up; the last column is free. */
export function alignedWriter<T>(headers: string[], cells: (row: T) => string[], empty: string): ListingWriter<T> {
  let widths: number[] | null = null;
  const format = (line: string[]) =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths![i]!)))
      .join('  ')
      .trimEnd();
  return {
    write: (rows) => {
      // Recorded content is shown, never run by the terminal (safe-text.ts).
      const lines = rows.map((row) => cells(row).map(escapeControls));
      if (!widths) {
        widths = headers.map((header, i) => Math.max(header.length, ...lines.map((line) => line[i]!.length)));
        process.stdout.write(format(headers) + '\n');
      }
      process.stdout.write(lines.map(format).join('\n') + '\n');
    },
    end: (count) => {
      if (count === 0) process.stdout.write(`${empty}\n`);
    },
  };
}

/** Pages through a listing operation by id (oldest first) until `limit` rows or the end. */
export async function pageListing<T extends { id: number }>(
  run: (op: string, args: Record<string, unknown>) => Promise<unknown>,
  op: string,
  filter: Record<string, unknown>,
  limit: number,
  writer: ListingWriter<T>,
  pageSize = 2000,
): Promise<number> {
  let printed = 0;
  let afterId: number | undefined;
  while (printed < limit) {
    const want = Math.min(pageSize, limit - printed);
    const page = (await run(op, { ...filter, afterId, limit: want })) as T[];
    if (page.length > 0) {
      writer.write(page);
      printed += page.length;
      afterId = page.at(-1)!.id;
    }
    if (page.length < want) break;
  }
  return printed;
}
