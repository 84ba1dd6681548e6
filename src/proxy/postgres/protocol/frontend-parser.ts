import { Frontend } from './codes.js';
import { decodeFrontendMessage, describeType, SESSION_TYPES, type FrontendMessage } from './frontend-messages.js';
import { MalformedMessage } from './message-reader.js';
import { MessageHeader } from './message-header.js';

/** Returning `false` stops the parser right after this message (see `parse`). */
export type FrontendCallback = (message: FrontendMessage) => unknown;

export interface FrontendParserOptions {
  /** Largest message body accepted; a bigger declared length is a violation. */
  maxMessageBytes: number;
  /** Message types accepted; anything else is a violation (default: the session types). */
  allowed?: ReadonlySet<number>;
}

/** The client broke the protocol: the connection must end (SQLSTATE 08P01). */
export class FrontendProtocolError extends Error {
  constructor(
    message: string,
    readonly code: 'malformed' | 'too_large' | 'unknown_type',
  ) {
    super(message);
  }
}

/**
 * Streaming parser for frontend messages, fed chunks as they arrive (split anywhere).
 * Complete messages inside a chunk are decoded from views of it, without copying; only a
 * message split across chunks is assembled, from copies of the bytes actually received (a
 * declared length alone allocates nothing). CopyData bodies are never kept: the callback
 * gets their length and the bytes are skipped.
 */
export class FrontendParser {
  private readonly header = new MessageHeader();
  private type = 0;
  /** Body bytes still expected for the message being assembled or skipped. */
  private bodyRemaining = 0;
  private skipping = false;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private failed: FrontendProtocolError | null = null;
  private start = 0;
  allowed: ReadonlySet<number>;

  constructor(private readonly options: FrontendParserOptions) {
    this.allowed = options.allowed ?? SESSION_TYPES;
  }

  /** True between messages (nothing partial is held). */
  get atBoundary(): boolean {
    return this.header.pending === 0 && this.bodyRemaining === 0;
  }

  /** Bytes held for a partly received message (for memory accounting). */
  get bufferedBytes(): number {
    return this.partsLength + this.header.pending;
  }

  /**
   * Where in the last chunk the message last handed to the callback began: its offset, or -1
   * when it began in an earlier chunk.
   */
  get messageStart(): number {
    return this.start;
  }

  /**
   * Parses a chunk and returns how many of its bytes were consumed: all of them, unless the
   * callback returned `false`, in which case parsing stopped right after that message and the
   * rest of the chunk is left to a later call.
   */
  parse(chunk: Buffer, onMessage: FrontendCallback): number {
    if (this.failed) throw this.failed;
    try {
      return this.parseChunk(chunk, onMessage);
    } catch (err) {
      if (err instanceof MalformedMessage) {
        this.failed = new FrontendProtocolError(err.message, 'malformed');
      } else if (err instanceof FrontendProtocolError) {
        this.failed = err;
      } else {
        throw err;
      }
      this.parts = [];
      throw this.failed;
    }
  }

  private parseChunk(chunk: Buffer, onMessage: FrontendCallback): number {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (this.bodyRemaining > 0) {
        const take = Math.min(this.bodyRemaining, end - offset);
        if (!this.skipping) {
          this.parts.push(Buffer.from(chunk.subarray(offset, offset + take)));
          this.partsLength += take;
        }
        offset += take;
        this.bodyRemaining -= take;
        if (this.bodyRemaining === 0 && !this.skipping) {
          const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength);
          this.parts = [];
          this.partsLength = 0;
          // A body still expected when the chunk began: the message began in an earlier chunk.
          this.start = -1;
          if (onMessage(decodeFrontendMessage(this.type, body)) === false) return offset;
        }
        this.skipping = this.bodyRemaining > 0 && this.skipping;
        continue;
      }

      const start = this.header.pending === 0 ? offset : -1;
      offset = this.header.take(chunk, offset, end);
      if (this.header.pending > 0) break;
      this.type = this.header.type;
      const length = this.header.length;
      const bodyLength = this.checkHeader(this.type, length);

      this.start = start;
      if (this.type === Frontend.CopyData) {
        onMessage({ name: 'copyData', length: bodyLength });
        const take = Math.min(bodyLength, end - offset);
        offset += take;
        this.bodyRemaining = bodyLength - take;
        this.skipping = this.bodyRemaining > 0;
      } else if (end - offset >= bodyLength) {
        const body = chunk.subarray(offset, offset + bodyLength);
        offset += bodyLength;
        if (onMessage(decodeFrontendMessage(this.type, body)) === false) return offset;
      } else {
        this.bodyRemaining = bodyLength;
        this.skipping = false;
      }
    }
    return end;
  }

  private checkHeader(type: number, length: number): number {
    if (!this.allowed.has(type)) {
      throw new FrontendProtocolError(`invalid frontend message type ${describeType(type)}`, 'unknown_type');
    }
    if (length < 4) throw new FrontendProtocolError(`invalid message length ${length}`, 'malformed');
    const bodyLength = length - 4;
    if (bodyLength > this.options.maxMessageBytes) {
      throw new FrontendProtocolError(
        `message of ${bodyLength} bytes is larger than the gateway accepts (${this.options.maxMessageBytes} bytes)`,
        'too_large',
      );
    }
    if (bodyLength > 0 && FIXED_EMPTY.has(type)) {
      throw new FrontendProtocolError(`invalid message length ${length} for message type ${describeType(type)}`, 'malformed');
    }
    return bodyLength;
  }
}

/** Messages without a body: a length other than 4 is malformed. */
const FIXED_EMPTY: ReadonlySet<number> = new Set([Frontend.Sync, Frontend.Flush, Frontend.Terminate, Frontend.CopyDone]);
