/**
 * Bounds-checked reads over one message body. Every read that would run past the end, or a
 * C string without its terminator, throws MalformedMessage: the caller turns it into a
 * protocol violation for the connection instead of forwarding bytes it cannot account for.
 */
export class MalformedMessage extends Error {}

export class MessageReader {
  private offset = 0;

  constructor(private body: Buffer) {}

  /** Starts over on another body (one reader serves every message of a parser). */
  reset(body: Buffer): this {
    this.body = body;
    this.offset = 0;
    return this;
  }

  get remaining(): number {
    return this.body.length - this.offset;
  }

  byte(): number {
    this.need(1);
    return this.body[this.offset++]!;
  }

  int16(): number {
    this.need(2);
    const value = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.body.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A C string's bytes (without the terminator), as a view. */
  cstringBytes(): Buffer {
    const end = this.body.indexOf(0, this.offset);
    if (end < 0) throw new MalformedMessage('a string is missing its terminator');
    const bytes = this.body.subarray(this.offset, end);
    this.offset = end + 1;
    return bytes;
  }

  /** A C string decoded as latin1, byte for byte (names of statements, portals, parameters). */
  cstring(): string {
    return this.cstringBytes().toString('latin1');
  }

  bytes(length: number): Buffer {
    if (length < 0) throw new MalformedMessage(`negative length ${length}`);
    this.need(length);
    const bytes = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  rest(): Buffer {
    const bytes = this.body.subarray(this.offset);
    this.offset = this.body.length;
    return bytes;
  }

  /** Every message must be consumed exactly (PostgreSQL's pq_getmsgend). */
  end(): void {
    if (this.offset !== this.body.length) throw new MalformedMessage(`${this.remaining} unexpected bytes at the end of the message`);
  }

  private need(length: number): void {
    if (this.offset + length > this.body.length) throw new MalformedMessage('the message is shorter than its contents say');
  }
}
