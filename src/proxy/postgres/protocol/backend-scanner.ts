import { MessageHeader } from './message-header.js';
/**
 * Walks the message headers of the upstream's byte stream as it is forwarded, split
 * anywhere. Only the bodies of the types the caller asks for are handed over (a view when
 * the message lies inside one chunk, assembled from copies otherwise); every other body —
 * DataRow, CopyData, RowDescription — is skipped, so a large result costs one header read per
 * row and no copies.
 */
export type BackendSink = (type: number, body: Buffer | null, bodyLength: number) => void;

export class UpstreamProtocolError extends Error {}

export class BackendScanner {
  private readonly wanted = new Uint8Array(256);
  private readonly header = new MessageHeader();
  private type = 0;
  private bodyLength = 0;
  private bodyRemaining = 0;
  private parts: Buffer[] = [];

  constructor(bodiesOf: Iterable<number>) {
    for (const type of bodiesOf) this.wanted[type] = 1;
  }

  get atBoundary(): boolean {
    return this.header.pending === 0 && this.bodyRemaining === 0;
  }

  /** Scans a whole chunk. */
  scan(chunk: Buffer, sink: BackendSink): void {
    this.walk(chunk, sink, false);
  }

  /**
   * Scans only up to the end of the message in progress and returns how many bytes that
   * took (0 when already at a boundary): where the gateway may insert a message of its own.
   */
  scanToBoundary(chunk: Buffer, sink: BackendSink): number {
    return this.walk(chunk, sink, true);
  }

  private walk(chunk: Buffer, sink: BackendSink, stopAtBoundary: boolean): number {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (stopAtBoundary && this.atBoundary) return offset;
      if (this.bodyRemaining > 0) {
        const take = Math.min(this.bodyRemaining, end - offset);
        if (this.wanted[this.type]) this.parts.push(Buffer.from(chunk.subarray(offset, offset + take)));
        offset += take;
        this.bodyRemaining -= take;
        if (this.bodyRemaining === 0) {
          if (this.wanted[this.type]) {
            const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyLength);
            this.parts = [];
            sink(this.type, body, this.bodyLength);
          } else {
            sink(this.type, null, this.bodyLength);
          }
        }
        continue;
      }
      offset = this.header.take(chunk, offset, end);
      if (this.header.pending > 0) break;
      this.type = this.header.type;
      const length = this.header.length;
      if (length < 4) throw new UpstreamProtocolError(`the upstream sent a message with invalid length ${length}`);
      const bodyLength = length - 4;
      if (end - offset >= bodyLength) {
        sink(this.type, this.wanted[this.type] ? chunk.subarray(offset, offset + bodyLength) : null, bodyLength);
        offset += bodyLength;
      } else {
        this.bodyLength = bodyLength;
        this.bodyRemaining = bodyLength;
      }
    }
    return offset;
  }
}
