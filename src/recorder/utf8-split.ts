import { isAscii } from 'node:buffer';

/**
 * Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
 * The bytes after it (at most 3) are the start of a character whose remaining bytes have
 * not arrived yet; they are held back and decoded with the next chunk, so a character
 * split across network chunks is never turned into replacement characters.
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  const length = bytes.length;
  const lookBack = Math.min(3, length);
  for (let back = 1; back <= lookBack; back++) {
    const byte = bytes[length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    return sequenceLength(byte) > back ? length - back : length;
  }
  // Three continuation bytes at the end: either a complete 4-byte character or invalid
  // bytes, which the decoder replaces; nothing to hold back either way.
  return length;
}

/** Bytes a sequence starting with this lead byte needs (1 for ASCII and invalid leads). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc0 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  return 1;
}

/**
 * A streaming UTF-8 decoder over `completeUtf8Length`: `decode(chunk)` returns the text of
 * every complete character so far; `end()` returns what is left (invalid bytes become
 * U+FFFD, as in a whole-buffer decode).
 */
export class Utf8Stream {
  private carry: Buffer | null = null;

  /**
   * The chunk is pure ASCII and nothing is carried over (the common case for terminal
   * output): its bytes are its text, and `decode` is not needed.
   */
  isPlainAscii(chunk: Uint8Array): boolean {
    return this.carry === null && isAscii(chunk);
  }

  decode(chunk: Uint8Array): string {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.carry) {
      bytes = Buffer.concat([this.carry, bytes]);
      this.carry = null;
    }
    const complete = completeUtf8Length(bytes);
    if (complete < bytes.length) this.carry = Buffer.from(bytes.subarray(complete));
    return bytes.toString('utf8', 0, complete);
  }

  end(): string {
    const rest = this.carry;
    this.carry = null;
    return rest ? rest.toString('utf8') : '';
  }
}
