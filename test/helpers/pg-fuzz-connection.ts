import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { clientProofFromSalted, saltedPassword } from '../../src/core/scram.js';
import { startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';
import type { FuzzCase } from './pg-fuzz-inputs.js';

export interface FuzzLogin {
  port: number;
  user: string;
  database: string;
  token: string;
  /** How long the gateway may stay silent before the fuzzer closes its side. */
  idleMs: number;
  /** How long the gateway has to close after the fuzzer closed its side. */
  hangMs: number;
}

/**
 * How a fuzzed connection ended: the SQLSTATE of the last FATAL error the gateway (or the
 * server behind it) sent, or what happened without one.
 */
export type FuzzOutcome =
  | { kind: 'error'; code: string; message: string }
  | { kind: 'closed' } // the gateway closed without an error
  | { kind: 'idle' } // no answer within idleMs (mostly a message waiting for its bytes); the fuzzer closed its side, then the gateway closed
  | { kind: 'hung' } // the gateway did not close after the fuzzer closed its side
  | { kind: 'reset' }
  | { kind: 'login-failed'; message: string }; // the valid part before the fuzzed bytes did not work

const saltedCache = new Map<string, Buffer>();

/** Runs one fuzz case on its own connection and says how the connection ended. */
export async function runFuzzCase(fuzz: FuzzCase, login: FuzzLogin): Promise<FuzzOutcome> {
  const connection = await FuzzConnection.open(login.port);
  try {
    let valid: Buffer | undefined;
    if (fuzz.before === 'startup') connection.write(startupMessage([['user', login.user], ['database', login.database]]));
    if (fuzz.before === 'sasl-initial' || fuzz.before === 'login') {
      const scram = await connection.scramStart(login);
      if ('failed' in scram) return { kind: 'login-failed', message: scram.failed };
      if (fuzz.before === 'sasl-initial') valid = scram.clientFinal;
      else {
        const done = await connection.loginFinish(scram.clientFinal);
        if (done) return { kind: 'login-failed', message: done };
      }
    }
    connection.rawMode();
    for (const chunk of fuzz.chunks(valid)) {
      if (connection.closed) break;
      connection.write(chunk);
      // Let each piece leave as its own segment, so the gateway reads the stream split.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return await connection.outcome(login.idleMs, login.hangMs);
  } finally {
    connection.destroy();
  }
}

class FuzzConnection {
  closed = false;
  private reset = false;
  private parser: Parser | null = new Parser();
  private messages: BackendMessage[] = [];
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private lastData = Date.now();
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.lastData = Date.now();
      if (this.parser) this.parser.parse(Buffer.from(chunk), (message) => this.messages.push(message));
      else if (this.receivedBytes < 1 << 20) {
        this.received.push(chunk);
        this.receivedBytes += chunk.length;
      }
      this.notify();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.reset = true;
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** From here on, bytes are collected raw (the fuzzed stream may get any answer). */
  rawMode(): void {
    this.parser = null;
  }

  /** Startup and SASLInitialResponse; returns the client-final that proves the token. */
  async scramStart(login: FuzzLogin): Promise<{ clientFinal: Buffer } | { failed: string }> {
    this.write(startupMessage([['user', login.user], ['database', login.database]]));
    const sasl = await this.until((m) => m.name === 'authenticationSASL');
    if (!sasl) return { failed: this.failure('AuthenticationSASL') };
    const bare = `n=,r=${randomBytes(18).toString('base64')}`;
    this.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', `n,,${bare}`));
    const serverFirstMessage = await this.until((m) => m.name === 'authenticationSASLContinue');
    if (!serverFirstMessage) return { failed: this.failure('AuthenticationSASLContinue') };
    const serverFirst = (serverFirstMessage as unknown as { data: string }).data;
    const attributes = new Map(serverFirst.split(',').map((part) => [part[0]!, part.slice(2)] as [string, string]));
    const cacheKey = `${attributes.get('s')}:${attributes.get('i')}`;
    let salted = saltedCache.get(cacheKey);
    if (!salted) {
      salted = saltedPassword(login.token, Buffer.from(attributes.get('s')!, 'base64'), Number(attributes.get('i')));
      saltedCache.set(cacheKey, salted);
    }
    const withoutProof = `c=biws,r=${attributes.get('r')}`;
    const { proof } = clientProofFromSalted(salted, `${bare},${serverFirst},${withoutProof}`);
    return { clientFinal: serialize.sendSCRAMClientFinalMessage(`${withoutProof},p=${proof.toString('base64')}`) };
  }

  /** Sends the client-final and waits for the first ReadyForQuery; returns a problem or null. */
  async loginFinish(clientFinal: Buffer): Promise<string | null> {
    this.write(clientFinal);
    return (await this.until((m) => m.name === 'readyForQuery')) ? null : this.failure('ReadyForQuery');
  }

  /** Waits until the gateway closes, or goes quiet (then closes this side and waits again). */
  async outcome(idleMs: number, hangMs: number): Promise<FuzzOutcome> {
    while (!this.closed && Date.now() - this.lastData < idleMs) await this.sleep(idleMs - (Date.now() - this.lastData));
    let idle = false;
    if (!this.closed) {
      idle = true;
      this.socket.end();
      const deadline = Date.now() + hangMs;
      while (!this.closed && Date.now() < deadline) await this.sleep(deadline - Date.now());
      if (!this.closed) return { kind: 'hung' };
    }
    const error = lastFatalError(Buffer.concat(this.received));
    if (error) return { kind: 'error', ...error };
    if (this.reset) return { kind: 'reset' };
    return idle ? { kind: 'idle' } : { kind: 'closed' };
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The first message matching, or null when the connection fails or stays silent for a minute. */
  private async until(match: (message: BackendMessage) => boolean): Promise<BackendMessage | null> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.closed || this.messages.some((m) => m.name === 'error')) return null;
      await this.sleep(deadline - Date.now());
    }
    return null;
  }

  private failure(waitingFor: string): string {
    const error = this.messages.find((m) => m.name === 'error') as unknown as { code?: string; message?: string } | undefined;
    return error ? `${error.code ?? '?'} ${error.message ?? ''} (waiting for ${waitingFor})` : `the connection closed while waiting for ${waitingFor}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * The SQLSTATE and message of the last FATAL ErrorResponse in a backend byte stream (after
 * an optional one-byte SSL/GSS answer), or of the last ErrorResponse when none is FATAL.
 */
export function lastFatalError(bytes: Buffer): { code: string; message: string } | null {
  let offset = 0;
  const plausible = (at: number) => at + 5 <= bytes.length && bytes.readInt32BE(at + 1) >= 4 && bytes.readInt32BE(at + 1) < 1 << 24;
  if ((bytes[0] === 0x53 || bytes[0] === 0x4e) && !plausible(0)) offset = 1;
  let fatal: { code: string; message: string } | null = null;
  let last: { code: string; message: string } | null = null;
  while (plausible(offset)) {
    const length = bytes.readInt32BE(offset + 1);
    if (bytes[offset] === 0x45 && offset + 1 + length <= bytes.length) {
      const fields = errorFields(bytes.subarray(offset + 5, offset + 1 + length));
      const error = { code: fields.get('C') ?? '?', message: fields.get('M') ?? '' };
      last = error;
      if (fields.get('V') === 'FATAL' || fields.get('S') === 'FATAL') fatal = error;
    }
    offset += 1 + length;
  }
  return fatal ?? last;
}

function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(String.fromCharCode(body[offset]!), body.subarray(offset + 1, end).toString('utf8'));
    offset = end + 1;
  }
  return fields;
}
