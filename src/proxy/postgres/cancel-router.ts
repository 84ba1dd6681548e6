import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { errorMessage } from '../../core/errors.js';
import { parseHostPort } from '../../core/listener.js';
import type { Logger } from '../../core/logger.js';
import type { CancelKeyStore } from '../cancel-keys.js';
import { cancelRequest } from './protocol/frontend-serializer.js';

export interface IssuedKey {
  processId: number;
  secretKey: Buffer;
}

/**
 * CancelRequest routing. A client gets a gateway-issued backend key; the mapping to the
 * upstream backend's real key lives in the store (`cancel_keys`), so whichever gateway
 * process sharing the store receives the CancelRequest can forward it. Only a hash of the
 * gateway's secret is stored.
 */
export class CancelRouter {
  constructor(
    private readonly keys: CancelKeyStore,
    private readonly node: string,
    private readonly logger: Logger,
  ) {}

  async issue(sessionId: string, upstream: { address: string; processId: number; secretKey: Buffer }): Promise<IssuedKey> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const processId = randomInt(1, 0x7fffffff);
      const secretKey = randomBytes(4);
      const inserted = await this.keys.insert({
        processId,
        secretKey: hashSecret(secretKey),
        sessionId,
        node: this.node,
        upstreamAddress: upstream.address,
        upstreamProcessId: upstream.processId,
        upstreamSecretKey: upstream.secretKey.toString('hex'),
        createdAt: new Date(),
      });
      if (inserted) return { processId, secretKey };
    }
    throw new Error('could not draw an unused backend process id');
  }

  async release(sessionId: string): Promise<void> {
    await this.keys.deleteForSession(sessionId);
  }

  /** Forwards a client's CancelRequest; returns the session it cancelled, or null for an unknown key. */
  async route(processId: number, secretKey: Buffer): Promise<string | null> {
    const row = await this.keys.get(processId);
    if (!row) return null;
    const expected = Buffer.from(row.secretKey, 'hex');
    const given = Buffer.from(hashSecret(secretKey), 'hex');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    await sendCancel(row.upstreamAddress, row.upstreamProcessId, Buffer.from(row.upstreamSecretKey, 'hex')).catch((err) =>
      this.logger.warn('could not forward a cancel request upstream', { sessionId: row.sessionId, error: errorMessage(err) }),
    );
    return row.sessionId;
  }
}

/** Sends a CancelRequest to an upstream server (a connection of its own, as the protocol wants). */
export function sendCancel(address: string, processId: number, secretKey: Buffer): Promise<void> {
  const { host, port } = parseHostPort(address);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out sending a cancel request to ${address}`));
    }, 5000);
    socket.once('connect', () => socket.end(cancelRequest(processId, secretKey)));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
  });
}

function hashSecret(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex');
}
