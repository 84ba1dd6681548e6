import { describe, expect, it } from 'vitest';
import { escapeControls, safeText } from './safe-text.js';
import { formatTable } from './table.js';

describe('escapeControls', () => {
  it.each([
    ['plain text', 'alice@web1 select 1', 'alice@web1 select 1'],
    ['unicode that is only text', 'ünïcödé 東京 🙂', 'ünïcödé 東京 🙂'],
    ['an OSC window title', 'x\x1b]0;pwned\x07', 'x\\x1b]0;pwned\\x07'],
    ['a CSI sequence', '\x1b[2J\x1b[1;1H', '\\x1b[2J\\x1b[1;1H'],
    ['CR LF and TAB', 'a\r\nb\tc', 'a\\r\\nb\\tc'],
    ['NUL and DEL', '\x00\x7f', '\\x00\\x7f'],
    ['C1 controls (8-bit CSI, NEL)', '\u009b31m\u0085', '\\x9b31m\\x85'],
    ['bidi overrides and isolates', 'evil\u202Etxt.exe \u2066x\u2069 \u200f', 'evil\\u202etxt.exe \\u2066x\\u2069 \\u200f'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['a backslash is left as it is', 'C:\\path\\x1b', 'C:\\path\\x1b'],
  ])('%s', (_what, input, shown) => {
    expect(escapeControls(input)).toBe(shown);
  });

  it('leaves no byte a terminal would act on, for every code point below U+3000', () => {
    const acted = (code: number) =>
      code < 0x20 || (code >= 0x7f && code <= 0x9f) || [0x61c, 0x200e, 0x200f, 0x2028, 0x2029].includes(code) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
    const all = Array.from({ length: 0x3000 }, (_, i) => String.fromCharCode(i)).join('');
    const shown = escapeControls(all);
    expect([...shown].filter((char) => acted(char.charCodeAt(0)))).toEqual([]);
    expect(shown.length).toBeGreaterThan(all.length);
  });
});

it('safeText escapes the interpolated values, not the template', () => {
  const user = 'mallory\r\n2025-01-01 00:00:00Z  access.allow';
  expect(safeText`token tok_1 for ${user}, expires ${null}\n`).toBe('token tok_1 for mallory\\r\\n2025-01-01 00:00:00Z  access.allow, expires null\n');
});

it('formatTable keeps one line per row whatever the cells hold', () => {
  const table = formatTable(['A', 'B'], [['x\ny', '\x1b]0;t\x07'], ['\u202e', 'ok']]);
  expect(table.split('\n')).toEqual(['A       B', 'x\\ny    \\x1b]0;t\\x07', '\\u202e  ok', '']);
});
