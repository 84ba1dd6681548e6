/** A message header on the wire: one type byte, then an int32 length that counts itself. */
export const HEADER_BYTES = 5;

/**
 * Reads message headers from a stream of chunks, including a header split across chunks
 * (then its bytes are kept until the rest arrives).
 */
export class MessageHeader {
  type = 0;
  /** The length field as sent (includes its own 4 bytes). */
  length = 0;
  private readonly partial = Buffer.alloc(HEADER_BYTES);
  private fill = 0;

  /** Bytes of a split header held so far (0 at a message boundary). */
  get pending(): number {
    return this.fill;
  }

  /**
   * Takes header bytes from `chunk` at `offset` and returns the offset after them. When the
   * returned offset is `end` and `pending` is not 0, the header is incomplete: call again
   * with the next chunk; otherwise `type` and `length` hold the header.
   */
  take(chunk: Buffer, offset: number, end: number): number {
    if (this.fill === 0 && end - offset >= HEADER_BYTES) {
      this.type = chunk[offset]!;
      this.length = chunk.readInt32BE(offset + 1);
      return offset + HEADER_BYTES;
    }
    const take = Math.min(HEADER_BYTES - this.fill, end - offset);
    chunk.copy(this.partial, this.fill, offset, offset + take);
    this.fill += take;
    if (this.fill < HEADER_BYTES) return offset + take;
    this.fill = 0;
    this.type = this.partial[0]!;
    this.length = this.partial.readInt32BE(1);
    return offset + take;
  }
}
