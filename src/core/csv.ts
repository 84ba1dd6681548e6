/**
 * RFC 4180 CSV. Cells that a spreadsheet would evaluate as a formula (starting with = + - @
 * or a tab/CR) are prefixed with a single quote, as OWASP advises; the JSON lines export
 * carries the exact values.
 */
export function csvRow(values: unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
