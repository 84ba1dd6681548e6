import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { startReverseProxy, type ReverseProxy } from '../../bench/kube-baseline/reverse-proxy.js';
import { isChannelProtocol, type ExitStatus, type TerminalSize } from '../../src/proxy/kubernetes/channel-protocol.js';
import { bridgeExec, type ExecBridge, type ExecBridgeEnd, type ExecTap } from '../../src/proxy/kubernetes/exec-bridge.js';
import { kubeRequestInfo } from '../../src/proxy/kubernetes/request-info.js';
import { makeCertificateAuthority } from './kube-apiserver/certs.js';
import type { KubeApiServer } from './kube-apiserver/index.js';

/** Everything a RecordingTap saw of one exec session. */
export interface TappedSession {
  path: string;
  stdin: Buffer[];
  stdout: Buffer[];
  stderr: Buffer[];
  resizes: TerminalSize[];
  stdinClosed: boolean;
  exit?: ExitStatus;
  end?: ExecBridgeEnd;
  bridge: ExecBridge;
}

export interface ExecFront {
  url: string;
  caPem: string;
  sessions: TappedSession[];
  /** A kubeconfig for kubectl pointing at the front (its own CA, any token). */
  writeKubeconfig(file?: string): string;
  close(): Promise<void>;
}

/**
 * A small HTTPS front for the exec bridge's tests, shaped like the gateway will be: plain
 * requests pass through a bare reverse proxy with the upstream's token put in; exec and
 * attach upgrades are answered here and relayed by bridgeExec to the test API server, with
 * a tap that keeps everything it is told.
 */
export async function startExecFront(upstream: KubeApiServer): Promise<ExecFront> {
  const ca = await makeCertificateAuthority('exec-front-ca');
  const serving = await ca.issue({ commonName: 'exec-front', serverNames: ['localhost'], ips: ['127.0.0.1'] });
  const sessions: TappedSession[] = [];
  const agreed = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (_offered, req) => agreed.get(req) ?? false });
  const authorization = `Bearer ${upstream.adminToken}`;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const info = kubeRequestInfo(req.method ?? 'GET', req.url ?? '/');
    if (info.resource !== 'pods' || (info.subresource !== 'exec' && info.subresource !== 'attach')) return false;
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((value) => value.trim()).filter(isChannelProtocol);
    const upstreamSocket = new WebSocket(`wss://127.0.0.1:${upstream.port}${req.url}`, offered, { ca: upstream.caPem, headers: { Authorization: authorization }, perMessageDeflate: false });
    upstreamSocket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        socket.end(`HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\nContent-Type: ${response.headers['content-type'] ?? 'text/plain'}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('utf8')}`);
      });
    });
    upstreamSocket.on('error', () => socket.destroy());
    upstreamSocket.on('open', () => {
      agreed.set(req, upstreamSocket.protocol);
      wss.handleUpgrade(req, socket, head, (client) => {
        const session = { path: req.url ?? '', stdin: [], stdout: [], stderr: [], resizes: [], stdinClosed: false } as unknown as TappedSession;
        const tap: ExecTap = {
          stdin: (data) => void session.stdin.push(Buffer.from(data)),
          stdout: (data) => void session.stdout.push(Buffer.from(data)),
          stderr: (data) => void session.stderr.push(Buffer.from(data)),
          resize: (size) => void session.resizes.push(size),
          stdinClosed: () => void (session.stdinClosed = true),
          exit: (status) => void (session.exit = status),
        };
        if (!isChannelProtocol(upstreamSocket.protocol)) throw new Error(`upstream agreed to ${upstreamSocket.protocol}`);
        session.bridge = bridgeExec({ client, upstream: upstreamSocket, protocol: upstreamSocket.protocol, tap });
        sessions.push(session);
        void session.bridge.done.then((end) => (session.end = end));
      });
    });
    return true;
  };

  const proxy: ReverseProxy = await startReverseProxy({
    upstream: new URL(upstream.url),
    upstreamCa: upstream.caPem,
    cert: serving.certPem,
    key: serving.keyPem,
    upstreamHeaders: (headers) => ({ ...headers, authorization }),
    onUpgrade,
  });

  return {
    url: proxy.url,
    caPem: ca.certPem,
    sessions,
    writeKubeconfig(file) {
      return upstream.writeKubeconfig({ token: 'any-token-the-front-replaces' }, file, { server: proxy.url, caPem: ca.certPem });
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await proxy.close();
    },
  };
}
