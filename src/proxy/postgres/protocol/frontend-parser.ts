import { Frontend } from './codes.js';
import { decodeFrontendMessage, describeType, SESSION_TYPES, type FrontendMessage } from './frontend-messages.js';
import { MalformedMessage } from './message-reader.js';
import { MessageHeader } from './message-header.js';

export type FrontendCallback = (message: FrontendMessage) => void;

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

  parse(chunk: Buffer, onMessage: FrontendCallback): void {
    if (this.failed) throw this.failed;
    try {
      this.parseChunk(chunk, onMessage);
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

  private parseChunk(chunk: Buffer, onMessage: FrontendCallback): void {
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
          onMessage(decodeFrontendMessage(this.type, body));
        }
        this.skipping = this.bodyRemaining > 0 && this.skipping;
        continue;
      }

      offset = this.header.take(chunk, offset, end);
      if (this.header.pending > 0) break;
      this.type = this.header.type;
      const length = this.header.length;
      const bodyLength = this.checkHeader(this.type, length);

      if (this.type === Frontend.CopyData) {
        onMessage({ name: 'copyData', length: bodyLength });
        const take = Math.min(bodyLength, end - offset);
        offset += take;
        this.bodyRemaining = bodyLength - take;
        this.skipping = this.bodyRemaining > 0;
      } else if (end - offset >= bodyLength) {
        const body = chunk.subarray(offset, offset + bodyLength);
        offset += bodyLength;
        onMessage(decodeFrontendMessage(this.type, body));
      } else {
        this.bodyRemaining = bodyLength;
        this.skipping = false;
      }
    }
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
