import { canonicalJson } from '../core/canonical-json.js';

export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

/** Field-level differences between two specs; arrays and scalars compare as whole values. */
export function diffSpecs(before: unknown, after: unknown, path = 'spec'): FieldChange[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffSpecs(before[key], after[key], `${path}.${key}`));
  }
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  return [{ path, before: before ?? null, after: after ?? null }];
}

const SECRET_FIELDS = new Set(['password', 'privateKey', 'passphrase', 'token', 'secret']);
const REFERENCE = /^(env|file):/;

/**
 * Specs as they may appear in audit events and listings. Secret fields only ever hold
 * env:/file: references (validation refuses values), but anything else there is masked.
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item)) as T;
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    out[key] = SECRET_FIELDS.has(key) && !(typeof member === 'string' && REFERENCE.test(member)) ? '[redacted]' : redactSecrets(member);
  }
  return out as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
