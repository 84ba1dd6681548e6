/**
 * PostgreSQL keeps prepared statements and portals in hash tables keyed on the first
 * NAMEDATALEN - 1 = 63 bytes of the name: two names that share those bytes are one name
 * (a Parse of the second fails with 42P05, a Bind of it runs the first).
 */
export const NAME_BYTES = 63;

/** The server's key for a statement or portal name from a protocol message (latin1: one char per byte). */
export function protocolNameKey(name: string): string {
  return name.length > NAME_BYTES ? name.slice(0, NAME_BYTES) : name;
}

/**
 * The server's key for a name written in SQL (`PREPARE name`, `DEALLOCATE name`), given as
 * text already case-folded, and the client encoding its bytes were decoded from: the bytes
 * again, truncated at a character boundary as the lexer truncates identifiers. Null when the
 * bytes cannot be known (a non-ASCII name in an encoding the gateway does not re-encode).
 */
export function sqlNameKey(identifier: string, encoding: string): string | null {
  let bytes: string;
  let utf8 = false;
  if (isAscii(identifier)) {
    bytes = identifier;
  } else if (identifier.includes('\ufffd')) {
    return null;
  } else if (encoding === 'UTF8' || encoding === 'SQL_ASCII') {
    bytes = Buffer.from(identifier, 'utf8').toString('latin1');
    utf8 = true;
  } else if (encoding === 'LATIN1') {
    bytes = identifier;
  } else {
    return null;
  }
  if (bytes.length <= NAME_BYTES) return bytes;
  let end = NAME_BYTES;
  if (utf8) while (end > 0 && (bytes.charCodeAt(end) & 0xc0) === 0x80) end--;
  return bytes.slice(0, end);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
