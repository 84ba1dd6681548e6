import { csvRow } from '../core/csv.js';

/**
 * One export format of stored evidence: named columns, in order, that are both the CSV header
 * and the JSON lines keys. CSV is RFC 4180 with formula-looking cells neutralized; the JSON
 * lines carry the exact values.
 */
export function exportFormat<Column extends string, Row>(columns: readonly Column[], record: (row: Row) => Record<Column, unknown>) {
  return {
    columns,
    record,
    csvHeader: (): string => csvRow([...columns]),
    csvLine: (row: Row): string => {
      const values = record(row);
      return csvRow(columns.map((column) => values[column]));
    },
    jsonLine: (row: Row): string => `${JSON.stringify(record(row))}\n`,
  };
}
