import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../core/config.js';
import type { Listener, ListenAddress } from '../core/listener.js';
import { parseHostPort } from '../core/listener.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { VERSION } from '../core/version.js';
import type { AccessControl } from '../policy/access-control.js';
import type { RequestService } from '../policy/request-service.js';
import type { AuditLog } from '../recorder/audit-log.js';
import type { Store } from '../store/store.js';
import { WebError } from './errors.js';

export interface WebDependencies {
  config: GatewayConfig;
  store: Store;
  audit: AuditLog;
  access: AccessControl;
  requests: RequestService;
  metrics: Metrics;
  logger: Logger;
  /** Live listener addresses, for /healthz. */
  listeners: () => Record<string, string>;
}

/** A plugin adds routes to the web listener (the viewer API and assets register here). */
export type WebPlugin = (app: FastifyInstance, deps: WebDependencies) => Promise<void> | void;

/** HTTP: /healthz, /metrics, and whatever the web plugins add. */
export class WebListener implements Listener {
  readonly protocol = 'web';
  private app: FastifyInstance | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: WebDependencies,
    private readonly plugins: WebPlugin[] = [],
  ) {}

  async start(signal: AbortSignal): Promise<ListenAddress> {
    const { config } = this.deps;
    // Under `web.tls` the listener speaks HTTPS with the gateway's certificate (and the
    // viewer's cookie is marked Secure).
    const https = config.web.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {};
    const app = Fastify({ logger: false, trustProxy: false, bodyLimit: 1024 * 1024, ...https }) as unknown as FastifyInstance;
    const errors = this.deps.metrics.counter('custos_errors_total', 'Errors, by layer and code');
    app.setErrorHandler((error, _request, reply) => {
      if (error instanceof WebError) {
        return reply.status(error.status).headers(error.headers).send({ error: error.code, message: error.message });
      }
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) {
        errors({ layer: 'web', code: 'internal' });
        this.deps.logger.error('web request failed', { error });
      }
      return reply.status(status).send({ error: status >= 500 ? 'internal' : 'bad_request', message: status >= 500 ? 'internal error' : (error as Error).message });
    });
    app.get('/healthz', async (_request, reply) => {
      const store = await this.deps.store.health();
      return reply.status(store.ok ? 200 : 503).send({
        status: store.ok ? 'ok' : 'degraded',
        version: VERSION,
        node: this.deps.config.nodeName,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        store,
        auditPending: this.deps.audit.pending,
        listeners: this.deps.listeners(),
      });
    });
    app.get('/metrics', async (_request, reply) =>
      reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(this.deps.metrics.render()),
    );
    for (const plugin of this.plugins) await plugin(app, this.deps);
    const { host, port } = parseHostPort(this.deps.config.listen.web!);
    await app.listen({ host, port });
    this.app = app;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    const address = app.server.address();
    return typeof address === 'object' && address ? { host: address.address, port: address.port } : { host, port };
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    await app?.close();
  }
}
