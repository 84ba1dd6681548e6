import { describe, expect, it } from 'vitest';
import { csvCell, csvRow } from './csv.js';

describe('csv', () => {
  it.each([
    [null, ''],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    [' padded ', '" padded "'],
    ['=1+1', "'=1+1"],
    ['+cmd', "'+cmd"],
    ['-- comment', "'-- comment"],
    ['@sum', "'@sum"],
    [42, '42'],
    [new Date('2025-01-01T00:00:00Z'), '2025-01-01T00:00:00.000Z'],
    [[{ oid: 23, value: '1' }], '"[{""oid"":23,""value"":""1""}]"'],
  ])('encodes %j as %s', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('ends rows with CRLF', () => {
    expect(csvRow(['a', 'b,c', null])).toBe('a,"b,c",\r\n');
  });
});
