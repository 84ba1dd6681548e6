import { z } from 'zod';
import { badRequest } from './errors.js';

/** Query-string fields: optional, trimmed, bounded; empty means "not given". */
export const text = z
  .string()
  .max(200)
  .transform((value) => value.trim() || undefined)
  .optional();

export const time = z
  .string()
  .max(40)
  .optional()
  .transform((value, ctx) => {
    if (!value?.trim()) return undefined;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a time (use ISO 8601, e.g. 2025-01-31T12:00:00Z)` });
      return z.NEVER;
    }
    return date;
  });

export const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Parses a query string strictly: an unknown parameter is an error, not silently ignored. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw badRequest(`unknown parameter ${issue.keys.map((key) => `"${key}"`).join(', ')}`);
  throw badRequest(`${issue.path.join('.') || 'query'}: ${issue.message}`);
}

/** Opaque keyset cursors: base64url JSON. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!cursor) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw badRequest('cursor: not a cursor this server issued');
  }
}
