import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { describe, expect, it } from 'vitest';
import {
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  backendKeyData,
  errorResponse,
  noticeResponse,
  parameterStatus,
  readyForQuery,
} from './backend-serializer.js';

/** What pg-protocol's client-side parser makes of the bytes, fed in two pieces split at `split`. */
function parsedBy(bytes: Buffer, split: number): Array<Record<string, unknown>> {
  const parser = new Parser();
  const out: Array<Record<string, unknown>> = [];
  const collect = (message: BackendMessage) => {
    const { length: _length, ...rest } = message as unknown as Record<string, unknown>;
    const text = message instanceof Error || message.name === 'notice' ? { message: (message as { message?: string }).message } : {};
    out.push(JSON.parse(JSON.stringify({ ...rest, ...text })) as Record<string, unknown>);
  };
  // pg-protocol's parser writes into the buffers it is given, so it gets copies.
  parser.parse(Buffer.from(bytes.subarray(0, split)), collect);
  parser.parse(Buffer.from(bytes.subarray(split)), collect);
  return out;
}

describe('backend serializer', () => {
  const stream = Buffer.concat([
    authenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
    authenticationSaslContinue('r=abc,s=c2FsdA==,i=4096'),
    authenticationSaslFinal('v=c2lnbmF0dXJl'),
    authenticationOk(),
    parameterStatus('server_version', '15.18'),
    backendKeyData(12345, Buffer.from([0, 0, 0x30, 0x39])),
    errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed for identity "ä"', detail: 'd', hint: 'h' }),
    noticeResponse({ severity: 'NOTICE', code: '00000', message: 'recorded' }),
    readyForQuery('T'),
  ]);
  const expected = [
    { name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] },
    { name: 'authenticationSASLContinue', data: 'r=abc,s=c2FsdA==,i=4096' },
    { name: 'authenticationSASLFinal', data: 'v=c2lnbmF0dXJl' },
    { name: 'authenticationOk' },
    { name: 'parameterStatus', parameterName: 'server_version', parameterValue: '15.18' },
    { name: 'backendKeyData', processID: 12345, secretKey: 12345 },
    expect.objectContaining({ name: 'error', severity: 'FATAL', code: '28P01', message: 'password authentication failed for identity "ä"', detail: 'd', hint: 'h' }),
    expect.objectContaining({ name: 'notice', severity: 'NOTICE', code: '00000', message: 'recorded' }),
    { name: 'readyForQuery', status: 'T' },
  ];

  it('writes messages pg-protocol parses, split at every byte', () => {
    for (let split = 0; split <= stream.length; split++) {
      expect({ split, messages: parsedBy(stream, split) }).toEqual({ split, messages: expected });
    }
  });
});
