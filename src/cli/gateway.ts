import { mkdir } from 'node:fs/promises';
import type { GatewayConfig } from '../core/config.js';
import { ensureSelfSignedTls, ensureSshHostKey } from '../core/generated-keys.js';
import { formatHostPort, type Listener, type ListenAddress } from '../core/listener.js';
import type { Logger } from '../core/logger.js';
import { registerGatewayMetrics } from '../core/gateway-metrics.js';
import { Metrics } from '../core/metrics.js';
import { VERSION } from '../core/version.js';
import { WebhookNotifier } from '../core/webhook.js';
import { AdminSocketServer } from '../admin/socket-server.js';
import { AccessControl } from '../policy/access-control.js';
import { RequestService } from '../policy/request-service.js';
import { noticePayload } from '../policy/request-view.js';
import { RequestSweeper } from '../policy/request-sweeper.js';
import { approvalEvidence } from '../recorder/approval-evidence.js';
import type { ProtocolModule, ProxyContext } from '../proxy/context.js';
import { SessionLifecycle } from '../proxy/lifecycle/session-lifecycle.js';
import { PROTOCOL_MODULES } from '../proxy/protocols.js';
import { AuditLog } from '../recorder/audit-log.js';
import { KubeRequestLog } from '../recorder/kube-request-log.js';
import { QueryLog } from '../recorder/query-log.js';
import { SessionLog } from '../recorder/session-log.js';
import { openStore, type Store } from '../store/store.js';
import { WebListener, type WebPlugin } from '../web/web-listener.js';
import { WEB_PLUGINS } from '../web/plugins.js';

export interface GatewayOptions {
  logger: Logger;
  protocols?: ProtocolModule[];
  webPlugins?: WebPlugin[];
}

/**
 * One running gateway: the store, the audit log, the admin socket, the web listener and
 * the protocol listeners, started in that order and stopped in reverse.
 */
export class Gateway {
  private readonly abort = new AbortController();
  private readonly listeners: Listener[] = [];
  readonly addresses: Record<string, ListenAddress> = {};
  private admin: AdminSocketServer | null = null;
  private stopping: Promise<void> | null = null;
  private lifecycleStarted = false;
  private cutShort!: () => void;
  /** Resolves when the shutdown grace must be cut short (a second SIGTERM). */
  private readonly stopNowSignal = new Promise<void>((resolve) => (this.cutShort = resolve));
  readonly lifecycle: SessionLifecycle;
  readonly requests: RequestService;
  private readonly sweeper: RequestSweeper;
  private readonly webhook: WebhookNotifier | null;

  private constructor(
    readonly config: GatewayConfig,
    readonly store: Store,
    readonly audit: AuditLog,
    readonly access: AccessControl,
    readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.lifecycle = new SessionLifecycle({
      access,
      log: new SessionLog(store),
      audit,
      node: config.nodeName,
      logger,
      control: store.control,
    });
    // Every audit event about a session under a grant carries its approval.
    audit.tagSessionEvents((sessionId) => {
      const approval = approvalEvidence(this.lifecycle.get(sessionId)?.decision.grant);
      return approval ? { approval } : null;
    });
    const webhook = config.notifications.webhook;
    this.webhook = webhook ? new WebhookNotifier({ url: webhook, logger: logger.child({ component: 'webhook' }) }) : null;
    this.requests = new RequestService(store, {
      expireAfterMs: config.requests.expireAfterMs,
      gatewayActor: `gateway:${config.nodeName}`,
      notify: (notice) => this.webhook?.send(noticePayload(notice, config.nodeName)),
      changed: () => this.sweeper.poke(),
    });
    this.sweeper = new RequestSweeper(this.requests, { logger });
  }

  static async start(config: GatewayConfig, options: GatewayOptions): Promise<Gateway> {
    const logger = options.logger;
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(config.recordings.dir, { recursive: true, mode: 0o700 });
    if ((await ensureSshHostKey(config.ssh.hostKey)).created) logger.info('generated SSH host key', { path: config.ssh.hostKey });
    if (config.tls.generated && (await ensureSelfSignedTls(config.tls, [config.nodeName])).created) {
      logger.info('generated a self-signed CA and server certificate', { ca: config.tls.ca, cert: config.tls.cert });
    }

    const store = await openStore(config.store.url);
    const metrics = new Metrics();
    const standard = registerGatewayMetrics(metrics);
    const auditEvents = metrics.counter('custos_audit_events_total', 'Audit events appended to the chain');
    const auditFailures = metrics.counter('custos_audit_failures_total', 'Audit events that could not be written');
    const audit = new AuditLog(store, {
      logger,
      onAppended: (events) => auditEvents({}, events.length),
      onFailure: (error) => {
        auditFailures();
        standard.errors({ layer: error.layer, code: error.code });
      },
    });
    const memory = metrics.gauge('custos_process_resident_memory_bytes', 'Resident memory of the gateway process');
    const auditPending = metrics.gauge('custos_audit_pending_events', 'Audit events waiting to be written');
    metrics.onCollect(() => {
      memory.set(process.memoryUsage.rss());
      auditPending.set(audit.pending);
    });
    const access = new AccessControl(store, (event) => audit.record(event));
    const gateway = new Gateway(config, store, audit, access, metrics, logger);
    try {
      await gateway.startServices(options);
    } catch (err) {
      await gateway.stop();
      throw err;
    }
    return gateway;
  }

  private async startServices(options: GatewayOptions): Promise<void> {
    const { config, logger } = this;
    await this.audit.record({
      type: 'gateway.start',
      actor: `gateway:${config.nodeName}`,
      data: { version: VERSION, node: config.nodeName, pid: process.pid, store: this.store.kind, config: config.source },
    });

    const store = this.store;
    const sessions = new SessionLog(store);
    const context: ProxyContext = {
      config,
      access: this.access,
      audit: this.audit,
      metrics: this.metrics,
      logger,
      lifecycle: this.lifecycle,
      evidence: {
        sessions,
        queryLog: (queryLogOptions) => new QueryLog(store, queryLogOptions),
        kubeRequestLog: (logOptions) => new KubeRequestLog(store, logOptions),
      },
      cancelKeys: store.cancelKeys,
      requests: this.requests,
    };
    const modules = options.protocols ?? PROTOCOL_MODULES;
    const recovered = await this.lifecycle.recover();
    if (recovered > 0) logger.warn('closed sessions a stopped gateway left live', { sessions: recovered });
    for (const module of modules) await module.recover?.(context);
    await this.lifecycle.start();
    this.lifecycleStarted = true;
    this.sweeper.start();

    this.admin = new AdminSocketServer(config.admin.socket, { store: this.store, config, logger, requests: this.requests });
    await this.admin.start();

    if (config.listen.web) {
      const web = new WebListener(
        {
          config,
          store: this.store,
          audit: this.audit,
          access: this.access,
          requests: this.requests,
          metrics: this.metrics,
          logger,
          listeners: () => Object.fromEntries(Object.entries(this.addresses).map(([k, v]) => [k, formatHostPort(v)])),
        },
        options.webPlugins ?? WEB_PLUGINS,
      );
      await this.listen(web);
    }
    for (const module of modules) {
      if (config.listen[module.protocol]) await this.listen(module.create(context));
    }
    for (const protocol of ['ssh', 'postgres', 'kubernetes'] as const) {
      if (config.listen[protocol] && !modules.some((module) => module.protocol === protocol)) {
        logger.info(`the ${protocol} front end is not built yet; its listener is not started`, { protocol });
      }
    }
  }

  private async listen(listener: Listener): Promise<void> {
    const address = await listener.start(this.abort.signal);
    this.listeners.push(listener);
    this.addresses[listener.protocol] = address;
    this.logger.info('listening', { protocol: listener.protocol, address: formatHostPort(address) });
  }

  /**
   * Graceful stop: listeners stop accepting, live sessions are warned and get the shutdown
   * grace (`shutdown.grace`), then whatever remains is ended with a reason; every log and
   * recording is flushed and `gateway.stop` is written. `stopNow()` (a second SIGTERM) cuts
   * the grace short.
   */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort();
      if (this.lifecycleStarted) {
        await this.lifecycle.drain(this.config.shutdown.graceMs, this.stopNowSignal);
        await this.lifecycle.stop();
      }
      for (const listener of [...this.listeners].reverse()) {
        await listener.stop().catch((error) => this.logger.error('listener stop failed', { protocol: listener.protocol, error }));
      }
      await this.admin?.stop().catch(() => undefined);
      await this.sweeper.stop();
      await this.webhook?.stop();
      await this.audit
        .record({ type: 'gateway.stop', actor: `gateway:${this.config.nodeName}`, data: { node: this.config.nodeName, pid: process.pid } })
        .catch((error) => this.logger.error('could not record gateway.stop', { error }));
      await this.audit.flush();
      await this.store.close();
    })());
  }

  /** Ends every live session at once, even while a graceful stop is waiting. */
  stopNow(): Promise<void> {
    this.cutShort();
    return this.stop();
  }
}
