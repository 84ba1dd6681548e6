/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then
 * one JSON array per event: `[seconds, code, data]`. Codes used here: "o" output, "i"
 * input, "r" resize ("COLSxROWS"), "m" marker (the exit status of the channel). Players
 * ignore header keys they do not know; ours carry the evidence tags under `custos`.
 */
export interface RecordingTags {
  sessionId: string;
  /** The session's channel this recording belongs to (SSH channel, Kubernetes exec stream). */
  channelId: number;
  channelKind: string;
  protocol: string;
  identity: { name: string; kind: 'human' | 'bot'; owner: string | null };
  credential: string;
  target: string;
  login: string | null;
  grant: { id: string; ticket: string | null } | null;
  /** The approval the session runs under: request, ticket, approvers, until. */
  approval?: { request: string; ticket: string | null; approvers: string[]; until: string } | null;
  node: string;
  clientAddr: string | null;
  recordInput: boolean;
  /**
   * The channel had a pseudo-terminal. Without one, output lines end in a bare "\n" (the
   * operator's own terminal driver adds the "\r"), and input is data, not typed commands.
   */
  pty: boolean;
  /** Kubernetes exec/attach: which cluster, pod, container and command the stream went to. */
  kubernetes?: { cluster: string; namespace: string; pod: string; container: string | null; command: string[]; subresource: 'exec' | 'attach' };
}

export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix time in seconds of the recording's start. */
  timestamp: number;
  command?: string;
  title?: string;
  env?: Record<string, string>;
  custos: RecordingTags;
}

export type EventCode = 'o' | 'i' | 'r' | 'm';

export function headerLine(header: AsciicastHeader): string {
  return `${JSON.stringify(header)}\n`;
}

export function eventLine(seconds: number, code: EventCode, data: string): string {
  return `${eventLinePrefix(seconds, code)}${JSON.stringify(data)}]\n`;
}

/** An event line up to its data: `[seconds, "code", `. */
export function eventLinePrefix(seconds: number, code: EventCode): string {
  return `[${seconds.toFixed(6)}, "${code}", `;
}

export interface ParsedAsciicast {
  header: AsciicastHeader;
  events: Array<[number, string, string]>;
  /** Lines that are not valid events (a torn last line after a crash). */
  invalidLines: number;
}

/** Parses a recording for replay; tolerant of a torn last line. */
export function parseAsciicast(text: string): ParsedAsciicast {
  const lines = text.split('\n');
  const first = lines.shift();
  if (!first) throw new Error('empty recording');
  const header = JSON.parse(first) as AsciicastHeader;
  if (header.version !== 2) throw new Error(`unsupported asciicast version ${String(header.version)}`);
  const events: Array<[number, string, string]> = [];
  let invalidLines = 0;
  for (const line of lines) {
    if (line === '') continue;
    try {
      const event = JSON.parse(line) as unknown;
      if (Array.isArray(event) && typeof event[0] === 'number' && typeof event[1] === 'string' && typeof event[2] === 'string') {
        events.push(event as [number, string, string]);
      } else invalidLines += 1;
    } catch {
      invalidLines += 1;
    }
  }
  return { header, events, invalidLines };
}
