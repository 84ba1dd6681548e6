import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { GatewayConfig } from '../core/config.js';
import type { CustosError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RequestService } from '../policy/request-service.js';
import type { Store } from '../store/store.js';
import { AdminError } from './errors.js';
import { runOperation } from './operations.js';
import { peerCredentials, userNameOf } from './peer-credentials.js';
import { MAX_REQUEST_BYTES, type AdminRequest, type AdminResponse } from './protocol.js';

/**
 * The gateway's admin socket: a Unix socket in the data directory, mode 0600, through which
 * CLI commands run inside the gateway (the embedded store admits one process). The actor of
 * every change is the OS user the kernel reports for the connection.
 */
export class AdminSocketServer {
  private server: Server | null = null;
  private readonly connections = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly deps: { store: Store; config: GatewayConfig; logger: Logger; requests?: RequestService },
  ) {}

  async start(): Promise<void> {
    await removeStaleSocket(this.path);
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.path, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private serve(socket: Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let actor: string;
    try {
      const peer = peerCredentials(socket);
      actor = `os:${userNameOf(peer.uid)}@${hostname()}`;
    } catch (err) {
      this.deps.logger.warn('admin socket: cannot establish the peer', { error: err });
      socket.end(JSON.stringify({ id: 0, ok: false, error: { layer: 'admin', code: 'unavailable', message: 'cannot establish who is connecting' } }) + '\n');
      return;
    }
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.end(JSON.stringify({ id: 0, ok: false, error: { layer: 'admin', code: 'protocol', message: 'request too large' } }) + '\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) void this.handle(socket, line, actor);
      }
    });
  }

  private async handle(socket: Socket, line: string, actor: string): Promise<void> {
    let request: AdminRequest;
    try {
      request = JSON.parse(line) as AdminRequest;
      if (typeof request.op !== 'string') throw new Error('missing op');
    } catch {
      socket.write(JSON.stringify({ id: 0, ok: false, error: { layer: 'admin', code: 'protocol', message: 'malformed request' } }) + '\n');
      return;
    }
    let response: AdminResponse;
    try {
      const result = await runOperation(
        { store: this.deps.store, config: this.deps.config, actor, ...(this.deps.requests ? { requests: this.deps.requests } : {}) },
        request.op,
        request.args ?? {},
      );
      response = { id: request.id, ok: true, result };
    } catch (err) {
      const error = err as Partial<CustosError>;
      if (!error.layer) this.deps.logger.error('admin operation failed', { op: request.op, error: err });
      response = {
        id: request.id,
        ok: false,
        error: { layer: error.layer ?? 'internal', code: error.code ?? 'internal', message: (err as Error).message ?? String(err) },
      };
    }
    if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
  }
}

/** A socket file left by a gateway that died is removed; a live one is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new AdminError('unavailable', `another gateway is already serving ${path}`);
  await rm(path, { force: true });
}
