/**
 * Reading asciicast v2 lines (the writer is asciicast.ts): an event's time and code from its
 * first bytes, a whole event, the header. Shared by the viewer's replay and the story's
 * typed commands.
 */
const EVENT_PREFIX = /^\[\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*,\s*"([a-z])"/;

/** Time and code of an event line, from its first bytes only (no full JSON parse). */
export function peekEvent(bytes: Buffer): { time: number; code: string } | null {
  const match = EVENT_PREFIX.exec(bytes.toString('latin1', 0, Math.min(bytes.length, 64)));
  if (!match) return null;
  const time = Number(match[1]);
  return Number.isFinite(time) ? { time, code: match[2]! } : null;
}

/** A fully parsed event line, or null if the line is not an `[time, code, data]` event. */
export function parseEvent(bytes: Buffer): [number, string, unknown] | null {
  try {
    const event = JSON.parse(bytes.toString('utf8')) as unknown;
    if (!Array.isArray(event) || event.length < 3 || typeof event[0] !== 'number' || typeof event[1] !== 'string') return null;
    return [event[0], event[1], event[2]];
  } catch {
    return null;
  }
}

export interface CastHeader {
  version: number;
  width: number;
  height: number;
  [key: string]: unknown;
}

/**
 * The recorder tags a channel that had no pseudo-terminal (`custos.pty: false`); recordings
 * without the tag are terminal output.
 */
export function recordedWithoutPty(header: CastHeader): boolean {
  const custos = header.custos;
  return typeof custos === 'object' && custos !== null && (custos as { pty?: unknown }).pty === false;
}

export function parseHeader(bytes: Buffer): CastHeader | null {
  try {
    const header = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (header.version !== 2 || typeof header.width !== 'number' || typeof header.height !== 'number') return null;
    return header as CastHeader;
  } catch {
    return null;
  }
}
