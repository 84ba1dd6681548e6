import { StoreError } from './errors.js';
import { REPOSITORY_NAMES, type Repositories } from './repositories/index.js';

/** Wraps every repository method so that what escapes is a StoreError with a code. */
export function translateErrors(repositories: Repositories): Repositories {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of REPOSITORY_NAMES) {
    const repository = repositories[name] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const wrapped: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(repository)) {
      wrapped[method] = async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toStoreError(err);
        }
      };
    }
    out[name] = wrapped;
  }
  return out as unknown as Repositories;
}

export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const pgCode = (err as { code?: unknown; cause?: { code?: unknown } }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  const message = (err as { cause?: Error }).cause?.message ?? (err as Error).message ?? String(err);
  if (typeof pgCode === 'string' && /^(22|23)/.test(pgCode)) return new StoreError('invalid', message, { cause: err });
  if (typeof pgCode === 'string' && /^(08|57P)/.test(pgCode)) return new StoreError('unavailable', message, { cause: err });
  if (typeof pgCode === 'string' && pgCode === '40001') return new StoreError('conflict', message, { cause: err });
  return new StoreError('internal', message, { cause: err });
}
