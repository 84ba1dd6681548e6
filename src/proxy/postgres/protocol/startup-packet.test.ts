import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { cancelRequest, sslRequest, startupMessage } from './frontend-serializer.js';
import { MalformedMessage } from './message-reader.js';
import { StartupPacketReader } from './startup-packet.js';

function readAll(chunks: Buffer[]) {
  const reader = new StartupPacketReader();
  for (const chunk of chunks) {
    const result = reader.push(chunk);
    if (result) return result;
  }
  return null;
}

describe('startup packets', () => {
  const startup = startupMessage([
    ['user', 'alice/app_ro'],
    ['database', 'orders'],
    ['application_name', 'psql'],
    ['options', '-c search_path=a\\ b'],
  ]);

  it('decodes a startup message split at every byte, keeping parameter order', () => {
    for (let split = 1; split < startup.length; split++) {
      const result = readAll([startup.subarray(0, split), startup.subarray(split)]);
      expect(result?.packet).toEqual({
        name: 'startup',
        majorVersion: 3,
        minorVersion: 0,
        parameters: new Map([
          ['user', 'alice/app_ro'],
          ['database', 'orders'],
          ['application_name', 'psql'],
          ['options', '-c search_path=a\\ b'],
        ]),
      });
      expect(result?.rest.length).toBe(0);
    }
  });

  it('decodes what pg-protocol writes: startup, SSLRequest and CancelRequest', () => {
    expect(readAll([serialize.startup({ user: 'bob', database: 'd' })])?.packet).toMatchObject({ name: 'startup', parameters: new Map([['user', 'bob'], ['database', 'd'], ['client_encoding', 'UTF8']]) });
    expect(readAll([serialize.requestSsl()])?.packet).toEqual({ name: 'sslRequest' });
    expect(readAll([sslRequest()])?.packet).toEqual({ name: 'sslRequest' });
    expect(readAll([serialize.cancel(77, 99)])?.packet).toEqual({ name: 'cancelRequest', processId: 77, secretKey: Buffer.from([0, 0, 0, 99]) });
    expect(readAll([cancelRequest(77, Buffer.from([1, 2, 3, 4]))])?.packet).toEqual({ name: 'cancelRequest', processId: 77, secretKey: Buffer.from([1, 2, 3, 4]) });
  });

  it('returns the bytes that follow the packet', () => {
    const result = readAll([Buffer.concat([sslRequest(), Buffer.from('extra')])]);
    expect(result?.rest.toString()).toBe('extra');
  });

  it('refuses bad lengths before buffering, and unknown protocol versions', () => {
    expect(() => readAll([Buffer.from([0, 0, 0, 4])])).toThrow(MalformedMessage);
    expect(() => readAll([Buffer.from([0, 1, 0, 0])])).toThrow(/invalid length of startup packet \(65536\)/);
    const v2 = Buffer.from([0, 0, 0, 9, 0, 2, 0, 0, 0]);
    expect(() => readAll([v2])).toThrow(/unsupported frontend protocol 2.0/);
    const unterminated = Buffer.from([0, 0, 0, 12, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72]);
    expect(() => readAll([unterminated])).toThrow(/terminator/);
  });
});
