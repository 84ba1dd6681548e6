/**
 * SQL commands that create or remove the session's prepared statements and portals, read
 * from a statement's text so their effect can be followed once the server confirms it by
 * the command tag. Only the leading words are read (comments and whitespace skipped, names
 * case-folded as the server folds them); everything else is left to the server.
 */
export type SessionCommand =
  | { kind: 'prepare'; name: string }
  | { kind: 'deallocate'; name: string }
  | { kind: 'deallocateAll' }
  | { kind: 'discardAll' }
  | { kind: 'declare'; name: string; hold: boolean }
  | { kind: 'closeCursor'; name: string }
  | { kind: 'closeAllCursors' }
  | { kind: 'endTransaction' };

/** The command tag by which the server reports each command done. */
const TAGS: Record<SessionCommand['kind'], readonly string[]> = {
  prepare: ['PREPARE'],
  deallocate: ['DEALLOCATE'],
  deallocateAll: ['DEALLOCATE ALL'],
  discardAll: ['DISCARD ALL'],
  declare: ['DECLARE CURSOR'],
  closeCursor: ['CLOSE CURSOR'],
  closeAllCursors: ['CLOSE CURSOR ALL'],
  // COMMIT of a failed transaction reports ROLLBACK.
  endTransaction: ['COMMIT', 'ROLLBACK', 'PREPARE TRANSACTION'],
};

export function confirmedBy(command: SessionCommand, tag: string | null): boolean {
  return tag !== null && TAGS[command.kind].includes(tag);
}

/** First letters of the commands above (lower case): anything else is answered without reading further. */
const FIRST = new Set(['p', 'd', 'c', 'e', 'r', 'a'].map((c) => c.charCodeAt(0)));

export function sessionCommandOf(sql: string): SessionCommand | null {
  const words = new Words(sql);
  const first = words.firstChar();
  if (first < 0 || !FIRST.has(first | 0x20)) return null;
  const verb = words.keyword();
  switch (verb) {
    case 'prepare': {
      const name = words.word();
      if (name?.text === 'transaction' && !name.quoted && words.atStringLiteral()) return { kind: 'endTransaction' };
      return name ? { kind: 'prepare', name: name.text } : null;
    }
    case 'deallocate': {
      let name = words.word();
      if (name?.text === 'prepare' && !name.quoted) name = words.word() ?? name;
      if (!name) return null;
      return name.text === 'all' && !name.quoted ? { kind: 'deallocateAll' } : { kind: 'deallocate', name: name.text };
    }
    case 'discard':
      return words.keyword() === 'all' ? { kind: 'discardAll' } : null;
    case 'declare': {
      const name = words.word();
      if (!name) return null;
      // DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR [{WITH | WITHOUT} HOLD] FOR …
      for (let i = 0; i < 6; i++) {
        const word = words.keyword();
        if (word === 'cursor') {
          const next = words.keyword();
          return { kind: 'declare', name: name.text, hold: next === 'with' ? words.keyword() === 'hold' : next !== 'without' && next !== 'for' };
        }
        if (word === null) break;
      }
      // Unreadable options: assume WITH HOLD, so the cursor is never forgotten while it may exist.
      return { kind: 'declare', name: name.text, hold: true };
    }
    case 'close': {
      const name = words.word();
      if (!name) return null;
      return name.text === 'all' && !name.quoted ? { kind: 'closeAllCursors' } : { kind: 'closeCursor', name: name.text };
    }
    case 'commit':
    case 'end': {
      const next = words.keyword();
      return next === 'prepared' ? null : { kind: 'endTransaction' };
    }
    case 'rollback':
    case 'abort': {
      let next = words.keyword();
      if (next === 'work' || next === 'transaction') next = words.keyword();
      // ROLLBACK TO SAVEPOINT keeps the transaction; ROLLBACK PREPARED is about another one.
      return next === 'to' || next === 'prepared' ? null : { kind: 'endTransaction' };
    }
    default:
      return null;
  }
}

interface Word {
  text: string;
  quoted: boolean;
}

/** Reads SQL words: unquoted identifiers and keywords folded to lower case, "quoted" ones as written. */
class Words {
  private pos = 0;

  constructor(private readonly sql: string) {}

  /** The first character of the first word (after whitespace and comments), or -1. */
  firstChar(): number {
    this.skipSpace();
    return this.pos < this.sql.length ? this.sql.charCodeAt(this.pos) : -1;
  }

  /** The next unquoted word, lower case; null for anything else. */
  keyword(): string | null {
    const word = this.word();
    return word && !word.quoted ? word.text : null;
  }

  word(): Word | null {
    this.skipSpace();
    const sql = this.sql;
    const c = sql.charCodeAt(this.pos);
    if (c === 0x22) return this.quoted();
    if (!isIdentStart(c)) return null;
    const start = this.pos;
    this.pos++;
    while (this.pos < sql.length && isIdentPart(sql.charCodeAt(this.pos))) this.pos++;
    // U&"…" is a quoted identifier with Unicode escapes: not read here.
    if (this.pos === start + 1 && (c | 0x20) === 0x75 && sql.charCodeAt(this.pos) === 0x26) return null;
    // The server folds only ASCII letters (downcase_identifier).
    return { text: sql.slice(start, this.pos).replace(/[A-Z]+/g, (s) => s.toLowerCase()), quoted: false };
  }

  /** Whether a string constant follows ('…', E'…', U&'…', $tag$…). */
  atStringLiteral(): boolean {
    this.skipSpace();
    const rest = this.sql.slice(this.pos, this.pos + 3);
    return /^('|[eE]'|[uU]&'|\$)/.test(rest);
  }

  private quoted(): Word | null {
    const sql = this.sql;
    let text = '';
    let i = this.pos + 1;
    while (i < sql.length) {
      const quote = sql.indexOf('"', i);
      if (quote < 0) return null;
      text += sql.slice(i, quote);
      if (sql.charCodeAt(quote + 1) === 0x22) {
        text += '"';
        i = quote + 2;
        continue;
      }
      this.pos = quote + 1;
      return text ? { text, quoted: true } : null;
    }
    return null;
  }

  private skipSpace(): void {
    const sql = this.sql;
    while (this.pos < sql.length) {
      const c = sql.charCodeAt(this.pos);
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
        this.pos++;
      } else if (c === 0x2d && sql.charCodeAt(this.pos + 1) === 0x2d) {
        const end = sql.indexOf('\n', this.pos);
        this.pos = end < 0 ? sql.length : end + 1;
      } else if (c === 0x2f && sql.charCodeAt(this.pos + 1) === 0x2a) {
        // Block comments nest.
        let depth = 1;
        this.pos += 2;
        while (this.pos < sql.length && depth > 0) {
          if (sql.startsWith('/*', this.pos)) {
            depth++;
            this.pos += 2;
          } else if (sql.startsWith('*/', this.pos)) {
            depth--;
            this.pos += 2;
          } else {
            this.pos++;
          }
        }
      } else {
        return;
      }
    }
  }
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}
