/**
 * Splits a simple-query string into the statements the server will run, so the gateway can
 * record one row per statement. It follows PostgreSQL's lexer where it matters for `;`:
 * quoted strings (standard, E'' escape strings, and all strings when
 * standard_conforming_strings is off), quoted identifiers, dollar quoting, nested block
 * comments, line comments, parentheses (CREATE RULE actions), and psql's heuristic for
 * `CREATE FUNCTION … BEGIN ATOMIC … END` bodies. Statements with no tokens are dropped, as
 * the server drops them.
 */
export interface StatementPiece {
  text: string;
  /** 0-based offsets (UTF-16 units) of the piece in the query string, for error positions. */
  start: number;
  end: number;
}

export interface SplitOptions {
  standardConformingStrings: boolean;
}

const SEMICOLON = 0x3b;

export function splitStatements(query: string, options: SplitOptions = { standardConformingStrings: true }): StatementPiece[] {
  const first = query.indexOf(';');
  if (first < 0 || (first === query.lastIndexOf(';') && query.slice(first + 1).trim() === '')) {
    return [{ text: query, start: 0, end: query.length }];
  }
  const pieces = new Lexer(query, options.standardConformingStrings).split();
  return pieces.length > 0 ? pieces : [{ text: query, start: 0, end: query.length }];
}

class Lexer {
  private pos = 0;
  private parenDepth = 0;
  private beginDepth = 0;
  /** First letters of the statement's leading keywords (psql's BEGIN ATOMIC heuristic). */
  private keywords = '';
  private identifierCount = 0;

  constructor(
    private readonly text: string,
    private readonly standardConformingStrings: boolean,
  ) {}

  split(): StatementPiece[] {
    const pieces: StatementPiece[] = [];
    const text = this.text;
    let start = 0;
    let hasToken = false;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      const next = text.charCodeAt(this.pos + 1);
      if (c === 0x2d && next === 0x2d) {
        this.skipLineComment();
      } else if (c === 0x2f && next === 0x2a) {
        this.skipBlockComment();
      } else if (isSpace(c)) {
        this.pos++;
      } else if (c === SEMICOLON && this.parenDepth === 0 && this.beginDepth === 0) {
        if (hasToken) pieces.push(piece(text, start, this.pos));
        this.pos++;
        start = this.pos;
        hasToken = false;
        this.resetStatementState();
      } else {
        hasToken = true;
        this.token(c, next);
      }
    }
    if (hasToken) pieces.push(piece(text, start, text.length));
    return pieces;
  }

  private token(c: number, next: number): void {
    if (c === 0x27) {
      this.skipQuoted(0x27, !this.standardConformingStrings);
    } else if (c === 0x22) {
      this.skipQuoted(0x22, false);
    } else if (c === 0x24 && !isDigit(next)) {
      if (!this.skipDollarQuoted()) this.pos++;
    } else if (c === 0x28) {
      this.parenDepth++;
      this.pos++;
    } else if (c === 0x29) {
      if (this.parenDepth > 0) this.parenDepth--;
      this.pos++;
    } else if (isIdentStart(c)) {
      this.identifier();
    } else {
      this.pos++;
    }
  }

  private identifier(): void {
    const text = this.text;
    const start = this.pos;
    while (this.pos < text.length && isIdentContinue(text.charCodeAt(this.pos))) this.pos++;
    const word = text.slice(start, this.pos);
    const lower = word.toLowerCase();
    if (lower === 'e' && text.charCodeAt(this.pos) === 0x27) {
      // E'…' escape string: backslashes escape.
      this.skipQuoted(0x27, true);
      return;
    }
    if (lower === 'u' && text.charCodeAt(this.pos) === 0x26) {
      // U&'…' or U&"…": a Unicode-escape string or identifier; quotes are doubled, no backslash escapes of quotes.
      this.pos++;
      const quote = text.charCodeAt(this.pos);
      if (quote === 0x27 || quote === 0x22) this.skipQuoted(quote, false);
      return;
    }
    this.trackBeginAtomic(lower);
  }

  private trackBeginAtomic(lower: string): void {
    if (this.identifierCount < 4 && ['create', 'function', 'procedure', 'or', 'replace'].includes(lower)) {
      this.keywords += lower[0];
    } else if (this.identifierCount < 4) {
      this.keywords += '_';
    }
    this.identifierCount++;
    const k = this.keywords;
    const inRoutine = k[0] === 'c' && (k[1] === 'f' || k[1] === 'p' || (k[1] === 'o' && k[2] === 'r' && (k[3] === 'f' || k[3] === 'p')));
    if (!inRoutine || this.parenDepth !== 0) return;
    if (lower === 'begin') this.beginDepth++;
    else if (lower === 'case' && this.beginDepth >= 1) this.beginDepth++;
    else if (lower === 'end' && this.beginDepth > 0) this.beginDepth--;
  }

  private resetStatementState(): void {
    this.parenDepth = 0;
    this.beginDepth = 0;
    this.keywords = '';
    this.identifierCount = 0;
  }

  private skipLineComment(): void {
    const end = this.text.indexOf('\n', this.pos);
    this.pos = end < 0 ? this.text.length : end + 1;
  }

  private skipBlockComment(): void {
    const text = this.text;
    let depth = 0;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      const next = text.charCodeAt(this.pos + 1);
      if (c === 0x2f && next === 0x2a) {
        depth++;
        this.pos += 2;
      } else if (c === 0x2a && next === 0x2f) {
        depth--;
        this.pos += 2;
        if (depth === 0) return;
      } else {
        this.pos++;
      }
    }
  }

  /** From an opening quote to its close; a doubled quote is an escaped quote. */
  private skipQuoted(quote: number, backslashEscapes: boolean): void {
    const text = this.text;
    this.pos++;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (backslashEscapes && c === 0x5c) {
        this.pos += 2;
      } else if (c === quote) {
        if (text.charCodeAt(this.pos + 1) === quote) {
          this.pos += 2;
        } else {
          this.pos++;
          return;
        }
      } else {
        this.pos++;
      }
    }
  }

  /** `$tag$ … $tag$`; false when the `$` does not open a dollar quote. */
  private skipDollarQuoted(): boolean {
    const text = this.text;
    let end = this.pos + 1;
    if (end < text.length && text.charCodeAt(end) !== 0x24) {
      if (!isIdentStart(text.charCodeAt(end))) return false;
      while (end < text.length && isIdentContinue(text.charCodeAt(end)) && text.charCodeAt(end) !== 0x24) end++;
      if (text.charCodeAt(end) !== 0x24) return false;
    }
    const tag = text.slice(this.pos, end + 1);
    const close = text.indexOf(tag, end + 1);
    this.pos = close < 0 ? text.length : close + tag.length;
    return true;
  }
}

function piece(text: string, start: number, end: number): StatementPiece {
  let from = start;
  let to = end;
  while (from < to && isSpace(text.charCodeAt(from))) from++;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  return { text: text.slice(from, to), start: from, end: to };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isIdentContinue(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === 0x24;
}
