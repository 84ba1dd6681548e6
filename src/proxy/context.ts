import type { GatewayConfig } from '../core/config.js';
import type { Listener } from '../core/listener.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { AccessControl } from '../policy/access-control.js';
import type { RequestService } from '../policy/request-service.js';
import type { AuditLog } from '../recorder/audit-log.js';
import type { KubeRequestLog, KubeRequestLogOptions } from '../recorder/kube-request-log.js';
import type { QueryLog, QueryLogOptions } from '../recorder/query-log.js';
import type { SessionLog } from '../recorder/session-log.js';
import type { CancelKeyStore } from './cancel-keys.js';
import type { SessionLifecycle } from './lifecycle/session-lifecycle.js';

/**
 * What every protocol front end is given by the gateway: seams, never the store. Evidence
 * goes through the recorder (session log, query log, recordings), decisions through policy,
 * the life of each session through the shared lifecycle.
 */
export interface ProxyContext {
  config: GatewayConfig;
  access: AccessControl;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  lifecycle: SessionLifecycle;
  evidence: {
    sessions: SessionLog;
    queryLog(options: QueryLogOptions): QueryLog;
    /** The log of every Kubernetes API request (`kube_requests`). */
    kubeRequestLog(options: KubeRequestLogOptions): KubeRequestLog;
  };
  cancelKeys: CancelKeyStore;
  /** Access requests (the SSH front door asks through it). */
  requests: RequestService;
}

/**
 * A protocol the gateway can serve. `recover` runs once at start, before listening, after
 * the lifecycle has closed the sessions a crash left live, for what only the protocol knows
 * (PostgreSQL: cancel keys of the dead process).
 */
export interface ProtocolModule {
  protocol: 'ssh' | 'postgres' | 'kubernetes';
  create(context: ProxyContext): Listener;
  recover?(context: ProxyContext): Promise<void>;
}
