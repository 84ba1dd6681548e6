import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_PACKET_BYTES,
  PROTOCOL_3_0,
  SSL_REQUEST_CODE,
} from './codes.js';
import { MalformedMessage, MessageReader } from './message-reader.js';

/** The first packet of a connection (it has a length but no type byte). */
export type StartupPacket =
  | { name: 'sslRequest' }
  | { name: 'gssEncRequest' }
  | { name: 'cancelRequest'; processId: number; secretKey: Buffer }
  | {
      name: 'startup';
      majorVersion: number;
      minorVersion: number;
      /** In the order the client sent them. */
      parameters: Map<string, string>;
    };

/**
 * Accumulates bytes until one startup-phase packet is complete. The declared length is
 * checked before anything is buffered (at most MAX_STARTUP_PACKET_BYTES are ever held).
 */
export class StartupPacketReader {
  private parts: Buffer[] = [];
  private length = 0;

  get buffered(): number {
    return this.length;
  }

  /** Returns the packet and the bytes after it, or null while incomplete. Throws MalformedMessage. */
  push(chunk: Buffer): { packet: StartupPacket; rest: Buffer } | null {
    this.parts.push(chunk);
    this.length += chunk.length;
    if (this.length < 4) return null;
    const joined = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
    this.parts = [joined];
    const declared = joined.readInt32BE(0);
    if (declared < 8 || declared > MAX_STARTUP_PACKET_BYTES) {
      throw new MalformedMessage(`invalid length of startup packet (${declared})`);
    }
    if (this.length < declared) return null;
    this.parts = [];
    this.length = 0;
    return { packet: decodeStartupPacket(joined.subarray(4, declared)), rest: joined.subarray(declared) };
  }
}

/** Decodes a startup-phase packet body (after the length word). */
export function decodeStartupPacket(body: Buffer): StartupPacket {
  const reader = new MessageReader(body);
  const code = reader.int32();
  switch (code) {
    case SSL_REQUEST_CODE:
      reader.end();
      return { name: 'sslRequest' };
    case GSSENC_REQUEST_CODE:
      reader.end();
      return { name: 'gssEncRequest' };
    case CANCEL_REQUEST_CODE: {
      const processId = reader.int32();
      // PostgreSQL 18 (protocol 3.2) allows longer secret keys: take whatever is left (4..256 bytes).
      const secretKey = Buffer.from(reader.rest());
      if (secretKey.length < 4 || secretKey.length > 256) throw new MalformedMessage('invalid cancel request');
      return { name: 'cancelRequest', processId, secretKey };
    }
    default: {
      const majorVersion = code >>> 16;
      const minorVersion = code & 0xffff;
      if (majorVersion !== PROTOCOL_3_0 >>> 16) {
        throw new MalformedMessage(`unsupported frontend protocol ${majorVersion}.${minorVersion}: the gateway speaks 3.0`);
      }
      const parameters = new Map<string, string>();
      while (true) {
        const name = reader.cstringBytes().toString('utf8');
        if (name === '') break;
        parameters.set(name, reader.cstringBytes().toString('utf8'));
      }
      reader.end();
      return { name: 'startup', majorVersion, minorVersion, parameters };
    }
  }
}
