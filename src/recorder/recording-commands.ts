import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseEvent, parseHeader, peekEvent, recordedWithoutPty } from './asciicast-lines.js';
import { TypedCommands } from './typed-commands.js';

export interface TypedCommand {
  /** Seconds since the recording started (the asciicast event time). */
  offset: number;
  /** When it was typed: the channel's start plus the offset (the header's `timestamp` is in whole seconds). */
  at: Date;
  command: string;
}

/**
 * The commands typed in a terminal recording (asciicast with a pty and input recorded), in
 * order, read as a stream on the caller's event loop. Input of a channel without a pty is
 * data, not commands, and gives none; a recording that is not asciicast gives none.
 */
export async function typedCommandsIn(path: string, startedAt: Date, limit = 10_000): Promise<TypedCommand[]> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  const found: TypedCommand[] = [];
  const typed = new TypedCommands();
  let header = false;
  try {
    for await (const text of lines) {
      const bytes = Buffer.from(text, 'utf8');
      if (!header) {
        const parsed = parseHeader(bytes);
        if (!parsed || recordedWithoutPty(parsed)) return [];
        header = true;
        continue;
      }
      if (peekEvent(bytes)?.code !== 'i') continue;
      const event = parseEvent(bytes);
      if (!event || typeof event[2] !== 'string') continue;
      for (const command of typed.feed(event[2])) {
        found.push({ offset: event[0], at: new Date(startedAt.getTime() + Math.round(event[0] * 1000)), command });
        if (found.length >= limit) return found;
      }
    }
  } finally {
    lines.close();
  }
  return found;
}
