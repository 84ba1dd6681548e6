import type { GatewayConfig } from '../core/config.js';
import { RequestService } from '../policy/request-service.js';
import type { Store } from '../store/store.js';

/** What an admin operation runs with: the store, and who is asking (established, not claimed). */
export interface OperationContext {
  store: Store;
  /** `os:<user>@<host>` for the CLI, the identity name for the web API. */
  actor: string;
  config: GatewayConfig;
  /** The gateway's request service (it notifies and re-arms the sweeper); one is made when the CLI runs on the store itself. */
  requests?: RequestService;
}

/** The request service of the context, or one over its store (no gateway running: no notifications). */
export function requestsOf(context: OperationContext): RequestService {
  return (
    context.requests ??
    new RequestService(context.store, { expireAfterMs: context.config.requests.expireAfterMs, gatewayActor: `gateway:${context.config.nodeName}` })
  );
}

export type Operation = (context: OperationContext, args: Record<string, unknown>) => Promise<unknown>;
