import { Frontend } from './codes.js';
import { MalformedMessage, MessageReader } from './message-reader.js';

/**
 * Frontend messages after the startup packet, as the gateway needs them. Text the client
 * wrote (query strings, parameter values) stays as bytes: it is decoded later in the
 * session's client_encoding. Buffers are views into the received bytes, valid only during
 * the callback that receives them.
 */
export type FrontendMessage =
  | { name: 'query'; text: Buffer }
  | { name: 'parse'; statement: string; text: Buffer; paramTypes: number[] }
  | {
      name: 'bind';
      portal: string;
      statement: string;
      paramFormats: number[];
      params: Array<Buffer | null>;
      resultFormats: number[];
    }
  | { name: 'execute'; portal: string; maxRows: number }
  | { name: 'describe'; target: 'S' | 'P'; objectName: string }
  | { name: 'close'; target: 'S' | 'P'; objectName: string }
  | { name: 'sync' }
  | { name: 'flush' }
  | { name: 'terminate' }
  | { name: 'copyData'; length: number }
  | { name: 'copyDone' }
  | { name: 'copyFail'; message: Buffer }
  | { name: 'functionCall'; oid: number; argFormats: number[]; args: Array<Buffer | null>; resultFormat: number }
  | { name: 'authResponse'; data: Buffer };

export type FrontendMessageName = FrontendMessage['name'];

/** Message types a client may send once its session is running. */
export const SESSION_TYPES: ReadonlySet<number> = new Set([
  Frontend.Query,
  Frontend.Parse,
  Frontend.Bind,
  Frontend.Execute,
  Frontend.Describe,
  Frontend.Close,
  Frontend.Sync,
  Frontend.Flush,
  Frontend.Terminate,
  Frontend.CopyData,
  Frontend.CopyDone,
  Frontend.CopyFail,
  Frontend.FunctionCall,
]);

/** Message types a client may send while authenticating. */
export const AUTH_TYPES: ReadonlySet<number> = new Set([Frontend.AuthResponse, Frontend.Terminate]);

/** Decodes one complete message body (type byte and length already taken off). */
const shared = new MessageReader(Buffer.alloc(0));

// Messages without fields are the same every time.
const SYNC: FrontendMessage = Object.freeze({ name: 'sync' });
const FLUSH: FrontendMessage = Object.freeze({ name: 'flush' });
const TERMINATE: FrontendMessage = Object.freeze({ name: 'terminate' });
const COPY_DONE: FrontendMessage = Object.freeze({ name: 'copyDone' });

export function decodeFrontendMessage(type: number, body: Buffer): FrontendMessage {
  // Decoding is synchronous and never re-entered, so one reader serves every message.
  const reader = shared.reset(body);
  let message: FrontendMessage;
  switch (type) {
    case Frontend.Query:
      message = { name: 'query', text: reader.cstringBytes() };
      break;
    case Frontend.Parse: {
      const statement = reader.cstring();
      const text = reader.cstringBytes();
      const count = nonNegative(reader.int16(), 'parameter type count');
      const paramTypes = new Array<number>(count);
      for (let i = 0; i < count; i++) paramTypes[i] = reader.uint32();
      message = { name: 'parse', statement, text, paramTypes };
      break;
    }
    case Frontend.Bind: {
      const portal = reader.cstring();
      const statement = reader.cstring();
      const paramFormats = readInt16List(reader, 'parameter format count');
      const count = nonNegative(reader.int16(), 'parameter count');
      const params = new Array<Buffer | null>(count);
      for (let i = 0; i < count; i++) params[i] = readValue(reader);
      const resultFormats = readInt16List(reader, 'result format count');
      if (paramFormats.length > 1 && paramFormats.length !== count) {
        throw new MalformedMessage(`bind message has ${paramFormats.length} parameter formats but ${count} parameters`);
      }
      message = { name: 'bind', portal, statement, paramFormats, params, resultFormats };
      break;
    }
    case Frontend.Execute:
      message = { name: 'execute', portal: reader.cstring(), maxRows: reader.int32() };
      break;
    case Frontend.Describe:
    case Frontend.Close: {
      const target = reader.byte();
      if (target !== 0x53 && target !== 0x50) throw new MalformedMessage(`invalid ${type === Frontend.Close ? 'close' : 'describe'} target ${target}`);
      const objectName = reader.cstring();
      message = { name: type === Frontend.Close ? 'close' : 'describe', target: target === 0x53 ? 'S' : 'P', objectName };
      break;
    }
    case Frontend.Sync:
      message = SYNC;
      break;
    case Frontend.Flush:
      message = FLUSH;
      break;
    case Frontend.Terminate:
      message = TERMINATE;
      break;
    case Frontend.CopyDone:
      message = COPY_DONE;
      break;
    case Frontend.CopyData:
      // Normally skipped by the parser; decoded here only when asked for directly.
      message = { name: 'copyData', length: reader.rest().length };
      break;
    case Frontend.CopyFail:
      message = { name: 'copyFail', message: reader.cstringBytes() };
      break;
    case Frontend.FunctionCall: {
      const oid = reader.uint32();
      const argFormats = readInt16List(reader, 'argument format count');
      const count = nonNegative(reader.int16(), 'argument count');
      const args = new Array<Buffer | null>(count);
      for (let i = 0; i < count; i++) args[i] = readValue(reader);
      const resultFormat = reader.int16();
      message = { name: 'functionCall', oid, argFormats, args, resultFormat };
      break;
    }
    case Frontend.AuthResponse:
      message = { name: 'authResponse', data: reader.rest() };
      break;
    default:
      throw new MalformedMessage(`invalid frontend message type ${describeType(type)}`);
  }
  reader.end();
  return message;
}

export function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}' (${type})` : String(type);
}

function readInt16List(reader: MessageReader, what: string): number[] {
  const count = nonNegative(reader.int16(), what);
  const list = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const format = reader.int16();
    if (format !== 0 && format !== 1) throw new MalformedMessage(`invalid format code ${format}`);
    list[i] = format;
  }
  return list;
}

function readValue(reader: MessageReader): Buffer | null {
  const length = reader.int32();
  if (length === -1) return null;
  if (length < 0) throw new MalformedMessage(`invalid value length ${length}`);
  return reader.bytes(length);
}

function nonNegative(value: number, what: string): number {
  if (value < 0) throw new MalformedMessage(`invalid ${what} ${value}`);
  return value;
}
