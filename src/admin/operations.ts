import { VERSION } from '../core/version.js';
import { auditOperations } from './audit-operations.js';
import { botOperations } from './bot-operations.js';
import type { Operation, OperationContext } from './context.js';
import { AdminError } from './errors.js';
import { kubeRequestOperations } from './kube-request-operations.js';
import { queryOperations } from './query-operations.js';
import { requestOperations } from './request-operations.js';
import { resourceOperations } from './resource-operations.js';
import { sessionOperations } from './session-operations.js';
import { tokenOperations } from './token-operations.js';

/** Every operation the CLI can ask for, by name. */
export const OPERATIONS: Record<string, Operation> = {
  ...resourceOperations,
  ...tokenOperations,
  ...auditOperations,
  ...sessionOperations,
  ...queryOperations,
  ...requestOperations,
  ...botOperations,
  ...kubeRequestOperations,
  async status(context) {
    return { version: VERSION, node: context.config.nodeName, pid: process.pid, store: await context.store.health() };
  },
};

export async function runOperation(context: OperationContext, op: string, args: Record<string, unknown>): Promise<unknown> {
  const operation = OPERATIONS[op];
  if (!operation) throw new AdminError('unknown_operation', `unknown operation "${op}"`);
  return operation(context, args);
}
