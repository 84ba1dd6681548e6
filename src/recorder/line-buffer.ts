/**
 * A reusable, growing byte buffer for the asciicast lines of one write. Pure-ASCII terminal
 * bytes are JSON-escaped straight into it, byte for byte, with the escapes JSON.stringify
 * uses — so the line is the same as `JSON.stringify(text)` would give — without building
 * strings first (decoding, escaping and re-encoding megabytes of output was most of the
 * recorder's cost).
 */
export class LineBuffer {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;

  get size(): number {
    return this.length;
  }

  /** The bytes so far; valid until the next call that changes the buffer. */
  view(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  text(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buffer.write(text, this.length);
  }

  /** `"…"`: the JSON string of bytes that are all ASCII (callers check with isAscii). */
  jsonStringOfAscii(bytes: Uint8Array): void {
    const n = bytes.length;
    // The output needs at most 6n + 2 bytes. The input is copied just past that room, 4-byte
    // aligned, where it is checked a word at a time (most words need no escape) and runs of
    // plain bytes move to the output with copyWithin: no view object per run.
    this.reserve(n * 7 + 6);
    const out = this.buffer;
    let from = this.length + n * 6 + 2;
    from += (4 - ((out.byteOffset + from) % 4)) % 4;
    out.set(bytes, from);
    const words = new Uint32Array(out.buffer, out.byteOffset + from, n >>> 2);
    let at = this.length;
    out[at++] = 0x22;
    let plainFrom = 0;
    const escapeAt = (i: number) => {
      const escape = ESCAPES[out[from + i]!];
      if (escape === undefined) return;
      if (i > plainFrom) {
        out.copyWithin(at, from + plainFrom, from + i);
        at += i - plainFrom;
      }
      for (let k = 0; k < escape.length; k++) out[at++] = escape[k]!;
      plainFrom = i + 1;
    };
    for (let w = 0; w < words.length; w++) {
      const x = words[w]!;
      const quote = x ^ 0x22222222;
      const backslash = x ^ 0x5c5c5c5c;
      // Some byte < 0x20, or = '"', or = '\\' (valid because every byte is < 0x80).
      if ((((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)) & 0x80808080) {
        const first = w << 2;
        for (let i = first; i < first + 4; i++) escapeAt(i);
      }
    }
    for (let i = words.length << 2; i < n; i++) escapeAt(i);
    if (n > plainFrom) {
      out.copyWithin(at, from + plainFrom, from + n);
      at += n - plainFrom;
    }
    out[at++] = 0x22;
    this.length = at;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** JSON escapes of the ASCII bytes that need one, as JSON.stringify writes them. */
const ESCAPES: Array<Uint8Array | undefined> = Array.from({ length: 128 }, (_, byte) => {
  if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) return undefined;
  return Buffer.from(JSON.stringify(String.fromCharCode(byte)).slice(1, -1), 'latin1');
});
