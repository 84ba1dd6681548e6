import type { GatewayConfig } from '../core/config.js';
import type { Listener } from '../core/listener.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { AccessControl } from '../policy/access-control.js';
import type { AuditLog } from '../recorder/audit-log.js';
import type { SessionLog } from '../recorder/session-log.js';
import type { Store } from '../store/store.js';

/** What every protocol front end is given by the gateway. */
export interface ProxyContext {
  config: GatewayConfig;
  access: AccessControl;
  audit: AuditLog;
  sessions: SessionLog;
  metrics: Metrics;
  logger: Logger;
  /**
   * For recorder components the protocol builds (session recorders, the query log). Proxies
   * reach evidence and policy through recorder/ and policy/, not through the store directly.
   */
  store: Store;
}

/**
 * A protocol the gateway can serve. `recover` runs once at start, before listening, to
 * finish what a crash of this node left open (live sessions, unfinished recordings).
 */
export interface ProtocolModule {
  protocol: 'ssh' | 'postgres' | 'kubernetes';
  create(context: ProxyContext): Listener;
  recover?(context: ProxyContext): Promise<void>;
}
