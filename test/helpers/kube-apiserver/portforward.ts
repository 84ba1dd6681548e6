import { connect, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { SpdyServerConnection, type SpdyStream } from './spdy.js';

/** The WebSocket subprotocol kubectl ≥ 1.31 offers for port-forward: SPDY tunnelled in binary messages. */
export const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

export interface PortForwardRecord {
  requests: Array<{ port: number; requestId: string }>;
}

/**
 * The kubelet's port-forward protocol (portforward.k8s.io) over a SPDY connection: per
 * forwarded connection the client opens an error stream and a data stream with the same
 * `requestID` and the pod `port`; the data stream is joined to a TCP connection to
 * `dial(port)`, and a failure to connect is written to the error stream.
 */
export function runPortForward(ws: WebSocket, dial: (port: number) => { host: string; port: number }, record: PortForwardRecord): void {
  const spdy = new SpdyServerConnection((bytes) => {
    if (ws.readyState === ws.OPEN) ws.send(bytes);
  });
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const sockets = new Set<Socket>();
  ws.on('message', (message: Buffer) => spdy.feed(message));
  ws.on('close', () => {
    spdy.close();
    for (const socket of sockets) socket.destroy();
  });
  spdy.on('error', () => ws.close(1011));
  spdy.on('stream', (stream) => {
    const requestId = stream.headers.requestid ?? '';
    const pair = pairs.get(requestId) ?? {};
    pairs.set(requestId, pair);
    if (stream.headers.streamtype === 'error') pair.error = stream;
    else if (stream.headers.streamtype === 'data') pair.data = stream;
    else return stream.reset();
    if (!pair.error || !pair.data) return;
    pairs.delete(requestId);
    const port = Number(stream.headers.port);
    record.requests.push({ port, requestId });
    forward(pair.error, pair.data, dial(port), port, sockets);
  });
}

function forward(errorStream: SpdyStream, dataStream: SpdyStream, address: { host: string; port: number }, podPort: number, sockets: Set<Socket>): void {
  const socket = connect(address.port, address.host);
  sockets.add(socket);
  let connected = false;
  socket.on('connect', () => (connected = true));
  socket.on('data', (chunk: Buffer) => dataStream.write(chunk));
  socket.on('end', () => {
    dataStream.end();
    errorStream.end();
  });
  socket.on('error', (err) => {
    if (!connected) errorStream.write(Buffer.from(`error forwarding port ${podPort} to pod: failed to connect to localhost:${podPort}: ${err.message}`));
    errorStream.end();
    dataStream.end();
  });
  socket.on('close', () => sockets.delete(socket));
  dataStream.on('data', (chunk) => socket.write(chunk));
  dataStream.on('end', () => socket.end());
  dataStream.on('reset', () => socket.destroy());
}
