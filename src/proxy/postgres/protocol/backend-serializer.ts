import { AuthCode, Backend } from './codes.js';

/**
 * Backend messages the gateway itself sends to clients (pg-protocol serializes only
 * frontend messages). Each function returns one complete message.
 */
export interface ErrorFields {
  /** ERROR, FATAL, PANIC (or WARNING, NOTICE … for notices). */
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

class Writer {
  private parts: Buffer[] = [];
  private size = 0;

  byte(value: number): this {
    return this.push(Buffer.from([value]));
  }

  int16(value: number): this {
    const buffer = Buffer.allocUnsafe(2);
    buffer.writeInt16BE(value);
    return this.push(buffer);
  }

  int32(value: number): this {
    const buffer = Buffer.allocUnsafe(4);
    buffer.writeInt32BE(value);
    return this.push(buffer);
  }

  cstring(text: string): this {
    return this.push(Buffer.from(`${text}\0`, 'utf8'));
  }

  bytes(data: Buffer): this {
    return this.push(data);
  }

  /** Prefixes the type byte and the length (which counts itself but not the type). */
  message(type: number): Buffer {
    const out = Buffer.allocUnsafe(5 + this.size);
    out[0] = type;
    out.writeInt32BE(4 + this.size, 1);
    let offset = 5;
    for (const part of this.parts) {
      part.copy(out, offset);
      offset += part.length;
    }
    return out;
  }

  private push(buffer: Buffer): this {
    this.parts.push(buffer);
    this.size += buffer.length;
    return this;
  }
}

export function authenticationOk(): Buffer {
  return new Writer().int32(AuthCode.Ok).message(Backend.Authentication);
}

export function authenticationSasl(mechanisms: string[]): Buffer {
  const writer = new Writer().int32(AuthCode.SASL);
  for (const mechanism of mechanisms) writer.cstring(mechanism);
  return writer.byte(0).message(Backend.Authentication);
}

export function authenticationSaslContinue(data: string): Buffer {
  return new Writer().int32(AuthCode.SASLContinue).bytes(Buffer.from(data, 'utf8')).message(Backend.Authentication);
}

export function authenticationSaslFinal(data: string): Buffer {
  return new Writer().int32(AuthCode.SASLFinal).bytes(Buffer.from(data, 'utf8')).message(Backend.Authentication);
}

export function parameterStatus(name: string, value: string): Buffer {
  return new Writer().cstring(name).cstring(value).message(Backend.ParameterStatus);
}

export function backendKeyData(processId: number, secretKey: Buffer): Buffer {
  return new Writer().int32(processId).bytes(secretKey).message(Backend.BackendKeyData);
}

export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return new Writer().byte(status.charCodeAt(0)).message(Backend.ReadyForQuery);
}

/** NegotiateProtocolVersion: the newest minor version we speak and the options we ignored. */
export function negotiateProtocolVersion(minorVersion: number, unsupportedOptions: string[]): Buffer {
  const writer = new Writer().int32((3 << 16) | minorVersion).int32(unsupportedOptions.length);
  for (const option of unsupportedOptions) writer.cstring(option);
  return writer.message(Backend.NegotiateProtocolVersion);
}

export function errorResponse(fields: ErrorFields): Buffer {
  return noticeOrError(Backend.ErrorResponse, fields);
}

export function noticeResponse(fields: ErrorFields): Buffer {
  return noticeOrError(Backend.NoticeResponse, fields);
}

function noticeOrError(type: number, fields: ErrorFields): Buffer {
  const writer = new Writer()
    .byte(0x53) // S: localized severity
    .cstring(fields.severity)
    .byte(0x56) // V: severity, never localized
    .cstring(fields.severity)
    .byte(0x43) // C: SQLSTATE
    .cstring(fields.code)
    .byte(0x4d) // M: message
    .cstring(fields.message);
  if (fields.detail) writer.byte(0x44).cstring(fields.detail); // D
  if (fields.hint) writer.byte(0x48).cstring(fields.hint); // H
  return writer.byte(0).message(type);
}

/** The one-byte answer to SSLRequest / GSSENCRequest. */
export const SSL_ACCEPTED = Buffer.from('S');
export const ENCRYPTION_REFUSED = Buffer.from('N');
