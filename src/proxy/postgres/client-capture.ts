import type { FrontendMessage } from './protocol/frontend-messages.js';
import type { FrontendParser } from './protocol/frontend-parser.js';

interface Held {
  message: FrontendMessage;
  chunk: Buffer;
  /** Where the held message's bytes begin in the chunk (0 when it began in an earlier chunk). */
  from: number;
  /** Where they end. */
  end: number;
  /** Part of the message already went upstream (it began in an earlier chunk). */
  partial: boolean;
}

/**
 * Client bytes on their way upstream. Each message is captured before the bytes that
 * complete it are released. A message the capture cannot take yet (it names a statement or
 * portal whose definition waits for the server's answer, see PreparedNames) is held, with
 * everything after it, until `retry` succeeds; what precedes it is released at once. A message
 * never reaches the server before it is captured, and never out of order.
 */
export class ClientCapture {
  private held: Held | null = null;
  private readonly backlog: Buffer[] = [];
  private refused: FrontendMessage | null = null;

  constructor(
    private readonly parser: FrontendParser,
    /** Captures one message; false when it must wait. */
    private readonly capture: (message: FrontendMessage) => boolean,
  ) {}

  get holding(): boolean {
    return this.held !== null;
  }

  /** What went upstream ends between two messages (so a Terminate may follow). */
  get upstreamAtBoundary(): boolean {
    return this.held ? !this.held.partial : this.parser.atBoundary;
  }

  /** Takes a chunk from the client and returns the bytes that may go upstream now. */
  take(chunk: Buffer): Buffer[] {
    if (this.held) {
      this.backlog.push(chunk);
      return [];
    }
    const out: Buffer[] = [];
    this.run(chunk, out);
    return out;
  }

  /** Offers the held message again; returns the bytes that may go upstream now. */
  retry(): Buffer[] {
    const held = this.held;
    const out: Buffer[] = [];
    if (!held || !this.capture(held.message)) return out;
    this.held = null;
    out.push(held.chunk.subarray(held.from, held.end));
    if (held.end < held.chunk.length) this.run(held.chunk.subarray(held.end), out);
    while (!this.held && this.backlog.length > 0) this.run(this.backlog.shift()!, out);
    return out;
  }

  private run(chunk: Buffer, out: Buffer[]): void {
    const end = this.parser.parse(chunk, this.onMessage);
    const message = this.refused;
    if (!message) {
      out.push(chunk);
      return;
    }
    this.refused = null;
    const start = this.parser.messageStart;
    const from = Math.max(0, start);
    if (from > 0) out.push(chunk.subarray(0, from));
    this.held = { message, chunk, from, end, partial: start < 0 };
  }

  private readonly onMessage = (message: FrontendMessage): boolean => {
    if (this.capture(message)) return true;
    this.refused = message;
    return false;
  };
}
