import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Listener, ListenAddress } from '../../core/listener.js';
import { parseHostPort } from '../../core/listener.js';
import type { QueryLog } from '../../recorder/query-log.js';
import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import { CancelRouter } from './cancel-router.js';
import { serveConnection } from './connection.js';
import { errorResponse } from './protocol/backend-serializer.js';
import { SqlState } from './protocol/codes.js';
import type { PostgresBridge } from './session.js';
import { loadGatewayTls, type GatewayTls } from './tls-context.js';
import { ViolationReporter } from './violations.js';

/**
 * The PostgreSQL front end (config.listen.postgres). Each accepted connection is served on
 * its own; a connection still negotiating or authenticating counts against
 * `postgres.maxStartupConnections`, beyond which new ones are turned away at once.
 */
export class PostgresListener implements Listener {
  readonly protocol = 'postgres';
  private server: net.Server | null = null;
  private tls: GatewayTls | null = null;
  /** Connections still negotiating or authenticating. */
  private readonly startupSockets = new Set<net.Socket>();
  private readonly bridges = new Map<string, PostgresBridge>();
  private readonly connections = new Set<Promise<void>>();
  private startupConnections = 0;
  readonly queryLog: QueryLog;
  private readonly cancel: CancelRouter;
  private readonly violations: ViolationReporter;
  private readonly mockSecret = randomBytes(32);
  private readonly connectionCount: (labels: Record<string, string>) => void;

  constructor(private readonly context: ProxyContext) {
    const { metrics, logger } = context;
    const written = metrics.counter('custos_postgres_statements_recorded_total', 'Captured PostgreSQL statements written to the query log');
    const queryLogFailures = metrics.counter('custos_postgres_query_log_failures_total', 'Times the query log could not be written');
    this.queryLog = context.evidence.queryLog({ logger, onWritten: (rows) => written({}, rows), onFailure: () => queryLogFailures() });
    this.cancel = new CancelRouter(context.cancelKeys, context.config.nodeName, logger);
    const violations = metrics.counter('custos_postgres_protocol_violations_total', 'PostgreSQL connections ended for hostile or malformed input');
    this.violations = new ViolationReporter(context.audit, logger, (code) => violations({ code }));
    const count = metrics.counter('custos_postgres_connections_total', 'PostgreSQL connections by outcome');
    this.connectionCount = (labels) => count(labels);
    const sessions = metrics.gauge('custos_postgres_sessions', 'Live PostgreSQL sessions');
    const pending = metrics.gauge('custos_postgres_query_log_pending', 'Captured statements not yet written');
    metrics.onCollect(() => {
      sessions.set(this.bridges.size);
      pending.set(this.queryLog.pending);
    });
  }

  async start(signal: AbortSignal): Promise<ListenAddress> {
    const listen = this.context.config.listen.postgres;
    if (!listen) throw new ProxyError('not_configured', 'listen.postgres is off');
    this.tls = await loadGatewayTls(this.context.config.tls);
    const { host, port } = parseHostPort(listen);
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = 100_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.context.logger.error('postgres listener error', { error }));
    this.server = server;
    signal.addEventListener('abort', () => server.close(), { once: true });
    const address = server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  /**
   * Stops accepting; the lifecycle has drained the sessions by now, so what is left (a
   * session still setting up) ends with 57P01; then the query log writes what it holds.
   */
  async stop(): Promise<void> {
    this.server?.close();
    for (const bridge of this.bridges.values()) {
      bridge.terminate({ code: SqlState.adminShutdown, message: 'terminating connection: the gateway is shutting down', reason: 'the gateway shut down' });
    }
    for (const socket of this.startupSockets) socket.destroy();
    await Promise.allSettled([...this.connections]);
    this.violations.summarize();
    await this.queryLog.close();
  }

  private accept(socket: net.Socket): void {
    const limit = this.context.config.postgres.maxStartupConnections;
    if (this.startupConnections >= limit) {
      const clientAddr = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : null;
      this.connectionCount({ result: 'too_many_connections' });
      this.violations.report({ code: 'too_many_connections', reason: `more than ${limit} connections are starting up at once`, clientAddr });
      socket.on('error', () => undefined);
      socket.end(errorResponse({ severity: 'FATAL', code: SqlState.tooManyConnections, message: 'too many connections are starting up at the gateway; try again' }));
      return;
    }
    this.startupConnections += 1;
    this.startupSockets.add(socket);
    let counted = true;
    const connection = serveConnection(socket, {
      context: this.context,
      tls: this.tls!,
      queryLog: this.queryLog,
      cancel: this.cancel,
      violations: this.violations,
      mockSecret: this.mockSecret,
      onStartupDone: () => {
        if (counted) this.startupConnections -= 1;
        counted = false;
        this.startupSockets.delete(socket);
      },
      onSessionStart: (sessionId, bridge) => this.bridges.set(sessionId, bridge),
      onSessionEnd: (sessionId) => this.bridges.delete(sessionId),
      metric: (result) => this.connectionCount({ result }),
    })
      .catch((error) => this.context.logger.error('postgres connection handler failed', { error }))
      .finally(() => {
        if (counted) this.startupConnections -= 1;
        counted = false;
        this.startupSockets.delete(socket);
        this.connections.delete(connection);
      });
    this.connections.add(connection);
  }
}
