import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { serialize } from 'pg-protocol';
import { clientProof } from '../../src/core/scram.js';
import { startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';

export interface ReceivedMessage {
  name: string;
  [key: string]: unknown;
}

/**
 * A bare protocol client for tests that need exact control of the bytes: pipelines,
 * Execute row limits, FunctionCall, malformed input. It logs in with SCRAM-SHA-256
 * (no TLS) and then sends whatever it is told, collecting parsed server messages.
 */
export class RawPgClient {
  readonly messages: ReceivedMessage[] = [];
  /** The backend key the gateway issued at login (for CancelRequest). */
  key: { processId: number; secretKey: Buffer } | null = null;
  private readonly parser = new Parser();
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.parser.parse(Buffer.from(chunk), (message: BackendMessage) => {
        const record = { ...(message as unknown as Record<string, unknown>) } as ReceivedMessage;
        if (message instanceof Error) record.message = message.message;
        // pg-protocol's parser does not know FunctionCallResponse ('V' = 0x56).
        if (record.name === 'error' && record.message === 'received invalid response: 56') record.name = 'functionCallResponse';
        this.messages.push(record);
      });
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawPgClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPgClient(socket);
  }

  /** Connects and logs in (with more startup parameters if given); resolves at the first ReadyForQuery. */
  static async login(port: number, user: string, password: string, database = 'orders', parameters: Array<[string, string]> = []): Promise<RawPgClient> {
    const client = await RawPgClient.connect(port);
    client.send(startupMessage([['user', user], ['database', database], ...parameters]));
    await client.until((m) => m.name === 'authenticationSASL' || m.name === 'error');
    const nonce = randomBytes(18).toString('base64');
    const bare = `n=,r=${nonce}`;
    client.send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', `n,,${bare}`));
    const serverFirst = (await client.until((m) => m.name === 'authenticationSASLContinue' || m.name === 'error')).data as string;
    const attributes = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as [string, string]));
    const withoutProof = `c=biws,r=${attributes.get('r')}`;
    const { proof } = clientProof(password, Buffer.from(attributes.get('s')!, 'base64'), Number(attributes.get('i')), `${bare},${serverFirst},${withoutProof}`);
    client.send(serialize.sendSCRAMClientFinalMessage(`${withoutProof},p=${proof.toString('base64')}`));
    const ready = await client.until((m) => m.name === 'readyForQuery' || m.name === 'error');
    if (ready.name === 'error') throw Object.assign(new Error(`login failed: ${String(ready.message)}`), { code: ready.code, hint: ready.hint });
    const keyData = client.messages.find((m) => m.name === 'backendKeyData');
    if (keyData) {
      const secretKey = Buffer.alloc(4);
      secretKey.writeInt32BE(keyData.secretKey as number);
      client.key = { processId: keyData.processID as number, secretKey };
    }
    client.messages.length = 0;
    return client;
  }

  send(...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers));
  }

  /** Waits for a message matching `match` (searching what arrived so far first) and returns it. */
  async until(match: (message: ReceivedMessage) => boolean, timeoutMs = 20_000): Promise<ReceivedMessage> {
    const deadline = Date.now() + timeoutMs;
    let from = 0;
    while (true) {
      for (; from < this.messages.length; from++) if (match(this.messages[from]!)) return this.messages[from]!;
      if (this.closed) throw new Error(`connection closed; received: ${this.names().join(', ')}`);
      if (Date.now() > deadline) throw new Error(`timed out; received: ${this.names().join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the `count`-th ReadyForQuery since the last `take` and returns the messages up to it. */
  async take(count = 1): Promise<ReceivedMessage[]> {
    let seen = 0;
    await this.until((m) => m.name === 'readyForQuery' && ++seen === count);
    const index = this.messages.findIndex((m, i, all) => m.name === 'readyForQuery' && all.slice(0, i + 1).filter((x) => x.name === 'readyForQuery').length === count);
    return this.messages.splice(0, index + 1);
  }

  /** Resolves when the server closes the connection. */
  async closedByServer(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the connection is still open');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  names(): string[] {
    return this.messages.map((m) => m.name);
  }

  end(): void {
    if (!this.closed) this.socket.end(serialize.end());
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
