import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { errorMessage } from '../../core/errors.js';
import { parseHostPort, type Listener, type ListenAddress } from '../../core/listener.js';
import { RecordingWriter } from '../../recorder/recording-writer.js';
import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import { endings } from '../lifecycle/ending.js';
import { ApiSessions } from './api-sessions.js';
import type { ExecUpgrade } from './exec-session.js';
import { kubeMetrics, type KubeServices } from './kube-services.js';
import { serveRequest } from './serve-request.js';
import { serveUpgrade } from './serve-upgrade.js';
import { refusals, rejectUpgrade, sendStatus, statusFor } from './status.js';
import { targetRoute } from './target-route.js';
import { UpstreamPool } from './upstream-pool.js';

const NOT_A_TARGET_PATH =
  'this is the Custos Kubernetes gateway: each cluster is served under /k8s/<target>/ (use the kubeconfig from `custos kubeconfig`; `kubectl get --raw` ignores the server path, so give it /k8s/<target>/… in full)';

/**
 * The Kubernetes front end (config.listen.kubernetes): HTTPS with the gateway's certificate,
 * one cluster per target under `/k8s/<target>/`. Every request authenticates with an
 * identity token as its bearer token, belongs to an API session, is decided, recorded in the
 * request log and relayed with the gateway's credentials and the decision's impersonation;
 * exec and attach become recorded sessions of their own, port-forward a relayed tunnel.
 */
export class KubeListener implements Listener {
  readonly protocol = 'kubernetes';
  private server: Server | null = null;
  private readonly services: KubeServices;
  private readonly apiSessions: ApiSessions;
  private readonly exec: ExecUpgrade;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly context: ProxyContext) {
    const { logger, metrics, config } = context;
    const written = metrics.counter('custos_kubernetes_requests_recorded_total', 'Kubernetes requests written to the request log');
    const failures = metrics.counter('custos_kubernetes_request_log_failures_total', 'Times the Kubernetes request log could not be written');
    const requests = context.evidence.kubeRequestLog({ logger, onWritten: (rows) => written({}, rows), onFailure: () => failures() });
    // Fail closed: while requests cannot be recorded, what is running ends and new requests get 503.
    requests.onFailure((error) => {
      for (const session of context.lifecycle.list()) {
        if (session.protocol === 'kubernetes') session.terminate(endings.failed(`the request log cannot be written: ${error.message}`, 'the gateway cannot record requests right now'));
      }
    });
    this.services = {
      context,
      writer: new RecordingWriter({ logger }),
      requests,
      upstreams: new UpstreamPool(),
      metrics: kubeMetrics(metrics),
      apiSessionIdleMs: config.kubernetes.apiSessionIdleMs,
    };
    this.apiSessions = new ApiSessions(this.services);
    const agreed = new WeakMap<IncomingMessage, string>();
    this.exec = {
      agreed,
      wss: new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (_offered, req) => agreed.get(req) ?? false }),
    };
    const apiSessions = metrics.gauge('custos_kubernetes_api_sessions', 'Live Kubernetes API sessions');
    const pending = metrics.gauge('custos_kubernetes_request_log_pending', 'Kubernetes requests not yet written to the request log');
    metrics.onCollect(() => {
      apiSessions.set(this.apiSessions.size);
      pending.set(requests.pending);
    });
  }

  async start(signal: AbortSignal): Promise<ListenAddress> {
    const { config, logger } = this.context;
    if (!config.listen.kubernetes) throw new ProxyError('not_configured', 'listen.kubernetes is off');
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(config.tls.cert), readFile(config.tls.key)]);
    } catch (error) {
      throw new ProxyError('tls_unreadable', `cannot read the gateway's TLS certificate or key (${config.tls.cert}, ${config.tls.key}): ${errorMessage(error)}`);
    }
    const server = createServer({ cert, key, minVersion: 'TLSv1.2' }, (req, res) => this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    server.keepAliveTimeout = 65_000;
    const { host, port } = parseHostPort(config.listen.kubernetes);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => logger.error('kubernetes listener error', { error }));
    this.server = server;
    signal.addEventListener('abort', () => server.close(), { once: true });
    const address = server.address() as { address: string; port: number };
    return { host: address.address, port: address.port };
  }

  /** The lifecycle has drained the sessions by now: what is left is cut, then the logs are written out. */
  async stop(): Promise<void> {
    this.server?.close();
    await Promise.allSettled(this.apiSessions.list().map((session) => session.end('the gateway shut down')));
    for (const client of this.exec.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await this.services.requests.close();
    await this.services.writer.stop();
    this.services.upstreams.close();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const route = targetRoute(req.url ?? '/');
    if (!route) return sendStatus(res, statusFor(refusals.notFound(NOT_A_TARGET_PATH)));
    this.apiSessions.forRequest(req.headers.authorization, route.target, clientAddress(req)).then(
      (api) => serveRequest(this.services, api, req, res, route.rest),
      (error: unknown) => this.refused(error, () => sendStatus(res, statusFor(error))),
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const route = targetRoute(req.url ?? '/');
    if (!route) return rejectUpgrade(socket, statusFor(refusals.notFound(NOT_A_TARGET_PATH)));
    this.apiSessions.forRequest(req.headers.authorization, route.target, clientAddress(req)).then(
      (api) => serveUpgrade(this.services, api, req, socket, head, route.rest, this.exec),
      (error: unknown) => this.refused(error, () => rejectUpgrade(socket, statusFor(error))),
    );
  }

  private refused(error: unknown, answer: () => void): void {
    if (!(error instanceof ProxyError)) this.context.logger.error('kubernetes request failed', { error: errorMessage(error) });
    answer();
  }
}

/** The client's address without its port: an API session spans the client's connections. */
function clientAddress(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}
