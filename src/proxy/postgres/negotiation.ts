import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ENCRYPTION_REFUSED, SSL_ACCEPTED } from './protocol/backend-serializer.js';
import { TLS_HANDSHAKE_BYTE } from './protocol/codes.js';
import { MalformedMessage } from './protocol/message-reader.js';
import { StartupPacketReader, type StartupPacket } from './protocol/startup-packet.js';
import { SocketReader } from './socket-reader.js';

export type Negotiated =
  | {
      kind: 'startup';
      socket: net.Socket;
      reader: SocketReader;
      secure: boolean;
      packet: Extract<StartupPacket, { name: 'startup' }>;
      /** Bytes the client sent after the startup packet. */
      rest: Buffer[];
    }
  | { kind: 'cancel'; socket: net.Socket; processId: number; secretKey: Buffer };

/** Bytes that break the startup conversation (answered with 08P01). */
export class NegotiationError extends Error {}

export interface NegotiationState {
  /** The socket currently in use (raw, then TLS); the startup timer closes it. */
  socket: net.Socket;
  reader: SocketReader | null;
}

/**
 * The startup conversation up to the StartupMessage: SSLRequest answered 'S' and the
 * connection upgraded with the gateway's certificate; GSSENCRequest answered 'N'; a
 * PostgreSQL 17 direct TLS ClientHello (first byte 0x16, ALPN "postgresql") accepted as is;
 * a CancelRequest handed back to the caller, plaintext or not (libpq before 17 sends it in
 * clear even when the session uses TLS).
 */
export async function negotiate(raw: net.Socket, secureContext: tls.SecureContext, state: NegotiationState): Promise<Negotiated> {
  let socket: net.Socket = raw;
  let reader = new SocketReader(raw);
  state.reader = reader;
  let secure = false;
  let first = true;
  let queued: Buffer[] = [];
  const packets = new StartupPacketReader();

  const next = async (): Promise<Buffer> => queued.shift() ?? reader.read();

  while (true) {
    const chunk = await next();
    if (chunk.length === 0) continue;
    if (first && chunk[0] === TLS_HANDSHAKE_BYTE) {
      first = false;
      const buffered = [chunk, ...reader.detach()];
      state.reader = null;
      socket = await acceptTls(prefixed(raw, buffered), secureContext, state, true);
      reader = new SocketReader(socket);
      state.reader = reader;
      secure = true;
      continue;
    }
    first = false;
    let result: ReturnType<StartupPacketReader['push']>;
    try {
      result = packets.push(chunk);
    } catch (err) {
      if (err instanceof MalformedMessage) throw new NegotiationError(err.message);
      throw err;
    }
    if (!result) continue;
    const { packet, rest } = result;
    switch (packet.name) {
      case 'sslRequest': {
        if (secure) throw new NegotiationError('SSLRequest received on a connection that is already encrypted');
        const buffered = reader.detach();
        if (rest.length > 0 || buffered.length > 0 || queued.length > 0) {
          // Bytes sent before the handshake could be injected by anyone on the path (CVE-2021-23214).
          throw new NegotiationError('received unencrypted data after SSL request');
        }
        raw.write(SSL_ACCEPTED);
        state.reader = null;
        socket = await acceptTls(raw, secureContext, state, false);
        reader = new SocketReader(socket);
        state.reader = reader;
        secure = true;
        first = false;
        continue;
      }
      case 'gssEncRequest':
        socket.write(ENCRYPTION_REFUSED);
        queued = rest.length > 0 ? [rest, ...queued] : queued;
        continue;
      case 'cancelRequest':
        reader.detach();
        return { kind: 'cancel', socket, processId: packet.processId, secretKey: packet.secretKey };
      case 'startup':
        return { kind: 'startup', socket, reader, secure, packet, rest: rest.length > 0 ? [rest, ...queued] : queued };
    }
  }
}

function acceptTls(socket: Duplex, secureContext: tls.SecureContext, state: NegotiationState, direct: boolean): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new tls.TLSSocket(socket as net.Socket, { isServer: true, secureContext, ALPNProtocols: ['postgresql'] });
    state.socket = secure;
    secure.once('secure', () => {
      secure.off('error', onError);
      secure.off('close', onClose);
      // Direct TLS must name the protocol (as PostgreSQL 17 requires), so no other TLS client lands here by accident.
      if (direct && secure.alpnProtocol !== 'postgresql') {
        secure.destroy();
        reject(new NegotiationError('direct TLS connections must use ALPN protocol "postgresql"'));
        return;
      }
      resolve(secure);
    });
    const onError = (err: Error) => reject(new NegotiationError(`TLS handshake failed: ${err.message}`));
    const onClose = () => reject(new NegotiationError('the client closed the connection during the TLS handshake'));
    secure.once('error', onError);
    secure.once('close', onClose);
  });
}

/** A stream over `socket` that first yields bytes already read from it (for direct TLS). */
function prefixed(socket: net.Socket, buffered: Buffer[]): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  for (const chunk of buffered) duplex.push(chunk);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  socket.on('close', () => duplex.destroy());
  socket.resume();
  return duplex;
}
