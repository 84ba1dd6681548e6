import { hostname, userInfo } from 'node:os';
import type { GatewayConfig } from '../core/config.js';
import { runOperation } from '../admin/operations.js';
import { callAdminSocket } from '../admin/socket-client.js';
import { openStore } from '../store/store.js';

/**
 * Runs an admin operation where the data is: inside the running gateway when its admin
 * socket answers (the embedded store admits one process), otherwise against the store
 * directly, as the OS user running this command.
 */
export async function runCliOperation(config: GatewayConfig, op: string, args: Record<string, unknown>): Promise<unknown> {
  const remote = await callAdminSocket(config.admin.socket, op, args);
  if (remote.running) return remote.result;
  const store = await openStore(config.store.url, { worker: false });
  try {
    const actor = `os:${userInfo().username}@${hostname()}`;
    const result = await runOperation({ store, actor, config }, op, args);
    // The same shape as over the socket: dates as ISO strings.
    return JSON.parse(JSON.stringify(result ?? null)) as unknown;
  } finally {
    await store.close();
  }
}

/**
 * Runs several operations against one store (paging through a long listing): through the
 * running gateway when its admin socket answers, otherwise on the store opened once.
 */
export async function withCliOperations<T>(
  config: GatewayConfig,
  body: (run: (op: string, args: Record<string, unknown>) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const probe = await callAdminSocket(config.admin.socket, 'status', {});
  if (probe.running) {
    return body(async (op, args) => {
      const remote = await callAdminSocket(config.admin.socket, op, args);
      if (!remote.running) throw new Error('the gateway stopped while the command was running');
      return remote.result;
    });
  }
  const store = await openStore(config.store.url, { worker: false });
  try {
    const actor = `os:${userInfo().username}@${hostname()}`;
    return await body(async (op, args) => JSON.parse(JSON.stringify((await runOperation({ store, actor, config }, op, args)) ?? null)) as unknown);
  } finally {
    await store.close();
  }
}
