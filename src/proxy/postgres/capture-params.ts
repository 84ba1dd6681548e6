import { createHash } from 'node:crypto';
import type { CapturedParam } from '../../core/captured-param.js';
import type { TextDecoding } from './client-encoding.js';

/** Parameter values are kept whole up to this size; larger ones as a prefix with size and sha256. */
export const MAX_CAPTURED_VALUE_BYTES = 64 * 1024;
/** Statement text is kept whole up to this size. */
export const MAX_CAPTURED_STATEMENT_BYTES = 1024 * 1024;

/**
 * Parameter values as the query log stores them: text-format values as text (in the client
 * encoding), binary-format values as base64, each with the type OID the client declared
 * (0 = left to the server), SQL NULL as null.
 */
export function captureParams(
  values: Array<Buffer | null>,
  formats: number[],
  oids: readonly number[],
  decoding: TextDecoding,
): CapturedParam[] {
  const out = new Array<CapturedParam>(values.length);
  for (let i = 0; i < values.length; i++) {
    const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : formats[i]!;
    out[i] = captureValue(values[i]!, format === 1 ? 'binary' : 'text', oids[i] ?? 0, decoding);
  }
  return out;
}

export function captureValue(value: Buffer | null, format: 'text' | 'binary', oid: number, decoding: TextDecoding): CapturedParam {
  if (value === null) return { format, oid, value: null };
  const kept = value.length > MAX_CAPTURED_VALUE_BYTES ? prefix(value, MAX_CAPTURED_VALUE_BYTES, format === 'text' && decoding.name === 'UTF8') : value;
  const truncated = kept.length < value.length ? { truncated: { bytes: value.length, sha256: sha256(value) } } : {};
  if (format === 'binary') return { format, oid, ...truncated, value: kept.toString('base64') };
  const { text, exact } = decoding.decode(kept);
  if (exact && !text.includes('\u0000')) return { format, oid, ...truncated, value: text };
  return { encoding: 'base64', format, oid, ...truncated, value: kept.toString('base64') };
}

/** Statement text for the log, and details when it is not the exact bytes the client sent. */
export function captureStatementText(bytes: Buffer, decoding: TextDecoding): { text: string; details: Record<string, unknown> | null } {
  if (bytes.length <= MAX_CAPTURED_STATEMENT_BYTES) {
    const { text, exact } = decoding.decode(bytes);
    return exact ? { text, details: null } : { text, details: { statementBase64: bytes.toString('base64') } };
  }
  const { text } = decoding.decode(prefix(bytes, MAX_CAPTURED_STATEMENT_BYTES, decoding.name === 'UTF8'));
  return { text, details: { statementTruncated: { bytes: bytes.length, sha256: sha256(bytes) } } };
}

/** The first `size` bytes, cut back to a character boundary for UTF-8. */
function prefix(bytes: Buffer, size: number, utf8: boolean): Buffer {
  let end = size;
  if (utf8) while (end > size - 4 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
