import { connect, type TLSSocket } from 'node:tls';
import type { OutgoingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors.js';
import { headerLines } from './impersonation.js';
import type { KubeUpstreamClient } from './upstream-pool.js';

export interface RawUpgradeResponse {
  socket: TLSSocket;
  statusCode: number;
  /** The response head as the cluster sent it, blank line included. */
  head: Buffer;
  /** Bytes that came after the head (already part of the upgraded stream, or of the body). */
  rest: Buffer;
}

const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Sends an upgrade request to the cluster over a TLS connection of its own and reads the
 * response head, so the upgraded stream can be relayed as bytes (a WebSocket subprotocol
 * the `ws` library will not negotiate, such as `SPDY/3.1+portforward.k8s.io`).
 */
export function rawUpgrade(upstream: KubeUpstreamClient, method: string, path: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<RawUpgradeResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: upstream.hostname,
      port: upstream.port,
      ...upstream.tls,
      ...(upstream.servername ? { servername: upstream.servername } : {}),
    });
    let received = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error instanceof ProxyError ? error : new ProxyError('upstream_unreachable', `custos: the gateway cannot reach the API server of target ${upstream.target}: ${error.message}`));
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_HEAD_BYTES) fail(new ProxyError('upstream_unreachable', `custos: the API server of target ${upstream.target} sent an oversized response head`));
        return;
      }
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', onEnd);
      socket.pause();
      const head = received.subarray(0, end + 4);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'));
      if (!status) return fail(new ProxyError('upstream_unreachable', `custos: the API server of target ${upstream.target} did not answer with HTTP`));
      resolve({ socket, statusCode: Number(status[1]), head, rest: received.subarray(end + 4) });
    };
    const onEnd = () => fail(new Error('the connection closed before a response'));
    socket.once('secureConnect', () => {
      socket.write(`${method} ${path} HTTP/1.1\r\n${headerLines(headers)}\r\n\r\n`);
      if (body.length > 0) socket.write(body);
    });
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('end', onEnd);
  });
}
