import { describe, expect, it } from 'vitest';
import { BackendScanner, UpstreamProtocolError } from './backend-scanner.js';
import { errorResponse, readyForQuery } from './backend-serializer.js';
import { Backend } from './codes.js';

function message(type: string, body: Buffer | string): Buffer {
  const data = Buffer.from(body);
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeInt32BE(data.length + 4, 1);
  return Buffer.concat([header, data]);
}

const WANTED = [Backend.CommandComplete, Backend.ErrorResponse, Backend.ReadyForQuery];

function scanAll(chunks: Buffer[]): string[] {
  const scanner = new BackendScanner(WANTED);
  const seen: string[] = [];
  for (const chunk of chunks) {
    scanner.scan(chunk, (type, body, length) => seen.push(`${String.fromCharCode(type)}:${length}:${body ? body.toString('hex') : '-'}`));
  }
  return seen;
}

describe('BackendScanner', () => {
  const stream = Buffer.concat([
    message('T', Buffer.alloc(30, 1)),
    message('D', Buffer.alloc(100, 2)),
    message('D', Buffer.alloc(0)),
    message('C', 'SELECT 2\0'),
    errorResponse({ severity: 'ERROR', code: '42P01', message: 'no such table' }),
    message('d', Buffer.alloc(2000, 3)),
    readyForQuery('I'),
  ]);
  const expected = scanAll([stream]);

  it('hands over the bodies asked for and only the lengths of the rest', () => {
    expect(expected.map((line) => line.replace(/:[0-9a-f]{20,}$/, ':…'))).toEqual([
      'T:30:-',
      'D:100:-',
      'D:0:-',
      `C:9:${Buffer.from('SELECT 2\0').toString('hex')}`,
      'E:37:…',
      'd:2000:-',
      'Z:1:49',
    ]);
  });

  it('gives the same result split at every byte and one byte at a time', () => {
    for (let split = 1; split < stream.length; split++) {
      expect(scanAll([stream.subarray(0, split), stream.subarray(split)])).toEqual(expected);
    }
    expect(scanAll([...stream].map((byte) => Buffer.from([byte])))).toEqual(expected);
  });

  it('finds the next message boundary in a chunk', () => {
    const scanner = new BackendScanner(WANTED);
    const first = message('D', Buffer.alloc(10));
    const second = message('D', Buffer.alloc(10));
    const both = Buffer.concat([first, second]);
    scanner.scan(both.subarray(0, 7), () => undefined);
    expect(scanner.atBoundary).toBe(false);
    expect(scanner.scanToBoundary(both.subarray(7), () => undefined)).toBe(first.length - 7);
    expect(scanner.atBoundary).toBe(true);
    expect(scanner.scanToBoundary(second, () => undefined)).toBe(0);
  });

  it('refuses a length below 4 from upstream', () => {
    expect(() => new BackendScanner([]).scan(Buffer.from([0x44, 0, 0, 0, 2]), () => undefined)).toThrow(UpstreamProtocolError);
  });
});
