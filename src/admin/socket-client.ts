import { createConnection } from 'node:net';
import type { AdminResponse } from './protocol.js';

export class RemoteOperationError extends Error {
  constructor(
    readonly layer: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteOperationError';
  }
}

/**
 * Runs one operation in the running gateway. Resolves `{ running: false }` when no gateway
 * listens on the socket (the caller then opens the store itself).
 */
export function callAdminSocket(
  path: string,
  op: string,
  args: Record<string, unknown>,
): Promise<{ running: false } | { running: true; result: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let connected = false;
    let buffered = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      connected = true;
      socket.write(JSON.stringify({ id: 1, op, args }) + '\n');
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      socket.end();
      const response = JSON.parse(buffered.slice(0, newline)) as AdminResponse;
      if (response.ok) resolve({ running: true, result: response.result });
      else reject(new RemoteOperationError(response.error.layer, response.error.code, response.error.message));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected && ['ENOENT', 'ECONNREFUSED', 'ENOTSOCK'].includes(err.code ?? '')) resolve({ running: false });
      else reject(err);
    });
    socket.once('close', () => {
      if (connected && !buffered.includes('\n')) reject(new Error('the gateway closed the admin connection without answering'));
    });
  });
}
