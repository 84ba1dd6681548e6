import { parseDuration } from '../core/duration.js';
import { AdminError } from './errors.js';

/** Readers for operation arguments (they arrive as JSON from the CLI or the socket). */
export function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value === '') throw new AdminError('invalid_argument', `${name} is required`);
  return value;
}

export function optionalString(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AdminError('invalid_argument', `${name} must be a string`);
  return value;
}

export function optionalNumber(args: Record<string, unknown>, name: string): number | undefined {
  const value = args[name];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number)) throw new AdminError('invalid_argument', `${name} must be a number`);
  return number;
}

/** A point in time: an ISO timestamp, or a duration meaning "that long ago" (`24h`). */
export function optionalTime(args: Record<string, unknown>, name: string, now: Date = new Date()): Date | undefined {
  const value = optionalString(args, name);
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(value)) {
    try {
      return new Date(now.getTime() - parseDuration(value));
    } catch {
      // not a duration after all; try a timestamp
    }
  }
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new AdminError('invalid_argument', `${name}: "${value}" is neither a duration (24h) nor a timestamp (2026-01-31T12:00:00Z)`);
  }
  return time;
}
