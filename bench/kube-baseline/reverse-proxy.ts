import { request as httpsRequest, createServer, Agent, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';

/**
 * A bare HTTPS reverse proxy in front of a Kubernetes API server: no parsing beyond HTTP,
 * bodies streamed, WebSocket (and SPDY) upgrades passed through as raw bytes. The baseline
 * `npm run bench:kube` measures Custos against, and the plain-HTTP half of the test front
 * that exercises the exec bridge.
 */
export interface ReverseProxyOptions {
  upstream: URL;
  /** CA that signs the upstream's certificate. */
  upstreamCa: string | Buffer;
  /** The proxy's own serving certificate and key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Rewrites the request headers sent upstream (e.g. to put the upstream's credentials in). Default: unchanged. */
  upstreamHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders;
  /** Takes over an upgrade request; return false to let the proxy pass it through raw. */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
  host?: string;
  port?: number;
}

export interface ReverseProxy {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'];

export async function startReverseProxy(options: ReverseProxyOptions): Promise<ReverseProxy> {
  const agent = new Agent({ keepAlive: true, ca: options.upstreamCa, maxSockets: 256 });
  const rewrite = options.upstreamHeaders ?? ((headers) => headers);
  const sockets = new Set<Duplex>();

  const server = createServer({ cert: options.cert, key: options.key }, (req: IncomingMessage, res: ServerResponse) => {
    const headers = rewrite(withoutHopByHop(req.headers));
    const upstreamReq = httpsRequest(
      { host: options.upstream.hostname, port: options.upstream.port, method: req.method, path: req.url, headers, agent },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, withoutHopByHop(upstreamRes.headers));
        res.flushHeaders();
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`upstream error: ${err.message}\n`);
    });
    res.on('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (options.onUpgrade?.(req, socket, head)) return;
    passThroughUpgrade(options, rewrite, req, socket, head);
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    server,
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Replays the upgrade request upstream over a fresh TLS connection, then joins the two sockets byte for byte. */
function passThroughUpgrade(options: ReverseProxyOptions, rewrite: NonNullable<ReverseProxyOptions['upstreamHeaders']>, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const upstream = tlsConnect({ host: options.upstream.hostname, port: Number(options.upstream.port), ca: options.upstreamCa, servername: options.upstream.hostname === '127.0.0.1' ? undefined : options.upstream.hostname });
  const headers = { ...rewrite(withoutHopByHop(req.headers)), host: options.upstream.host, connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' };
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) for (const one of [value ?? []].flat()) lines.push(`${name}: ${one}`);
  upstream.on('secureConnect', () => {
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const cut = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', cut);
  socket.on('error', cut);
  upstream.on('close', () => socket.end());
  socket.on('close', () => upstream.end());
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}
