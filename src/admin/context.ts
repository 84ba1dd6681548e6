import type { GatewayConfig } from '../core/config.js';
import type { Store } from '../store/store.js';

/** What an admin operation runs with: the store, and who is asking (established, not claimed). */
export interface OperationContext {
  store: Store;
  /** `os:<user>@<host>` for the CLI, the identity name for the web API. */
  actor: string;
  config: GatewayConfig;
}

export type Operation = (context: OperationContext, args: Record<string, unknown>) => Promise<unknown>;
