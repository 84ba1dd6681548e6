import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { Parser } from 'pg-protocol/dist/parser.js';
import { serialize } from 'pg-protocol';
import type { BackendMessage, BackendKeyDataMessage, ParameterStatusMessage, DatabaseError } from 'pg-protocol/dist/messages.js';
import { parseHostPort } from '../../core/listener.js';
import { clientProofFromSalted, saltedPassword } from '../../core/scram.js';
import { ProxyError } from '../errors.js';
import { Backend } from './protocol/codes.js';
import { sslRequest, startupMessage } from './protocol/frontend-serializer.js';

export interface UpstreamTls {
  mode: 'disable' | 'require' | 'verify-full';
  /** `file:PATH` of the CA bundle that signs the server certificate (verify-full). */
  ca?: string;
  serverName?: string;
}

export interface UpstreamLogin {
  address: string;
  tls: UpstreamTls;
  database: string;
  user: string;
  /** Resolved at connect time from the target's secret reference; never logged. */
  password: string | null;
  /** Startup parameters forwarded from the client (application_name, options, DateStyle …). */
  parameters: Array<[string, string]>;
  timeoutMs: number;
}

export interface UpstreamConnection {
  socket: net.Socket;
  /** Where the socket's bytes go (see UpstreamReads). */
  reads: UpstreamReads;
  /** The server's ParameterStatus values after login, in order. */
  parameters: Array<[string, string]>;
  processId: number;
  secretKey: Buffer;
  /** Notices the server sent during login, to pass on. */
  notices: Buffer[];
  /** Bytes received after ReadyForQuery (normally none). */
  rest: Buffer;
  tls: boolean;
}

/**
 * Delivery of the upstream's bytes to one handler at a time (the login, then the bridge).
 * A plaintext connection reads into a reusable buffer (the socket's `onread`), sparing an
 * allocation and the stream machinery per read on the hot path; the handler must call
 * `retain()` when it keeps a reference past its return (a write the kernel has not taken
 * yet), and the next read goes to a fresh buffer. A TLS connection delivers ordinary chunks.
 */
export class UpstreamReads {
  private buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private retained = false;
  handler: (chunk: Buffer) => void = () => undefined;

  /** For the socket's onread option. */
  readonly onread = {
    buffer: (): Buffer => {
      if (this.retained) {
        this.buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
        this.retained = false;
      }
      return this.buffer;
    },
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      this.handler((buffer as Buffer).subarray(0, bytes));
      return true;
    },
  };

  /** The current chunk stays referenced after the handler returns. */
  retain(): void {
    this.retained = true;
  }

  /** For sockets that deliver 'data' events (TLS): every chunk is fresh, nothing to retain. */
  follow(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.handler(chunk));
    this.retain = () => undefined;
  }
}

const READ_BUFFER_BYTES = 64 * 1024;

/** Login failure as the upstream reported it (its SQLSTATE and message). */
export class UpstreamLoginError extends ProxyError {
  constructor(
    message: string,
    readonly sqlstate: string | null,
  ) {
    super('upstream_login_failed', message);
  }
}

/**
 * Connects to the target's PostgreSQL and logs in with the target's credentials (trust,
 * cleartext, md5 or SCRAM-SHA-256), over TLS when the target asks for it, and returns the
 * socket at ReadyForQuery, ready to be bridged.
 */
export async function connectUpstream(login: UpstreamLogin): Promise<UpstreamConnection> {
  const { host, port } = parseHostPort(login.address);
  const reads = new UpstreamReads();
  const plaintext = login.tls.mode === 'disable';
  let socket: net.Socket = await new Promise<net.Socket>((resolve, reject) => {
    // TLS reads from the raw socket itself, so only a plaintext socket gets the reusable buffer.
    const raw = net.connect({ host, port, noDelay: true, ...(plaintext ? { onread: reads.onread } : {}) });
    const timer = setTimeout(() => {
      raw.destroy();
      reject(new ProxyError('upstream_unreachable', `timed out connecting to ${login.address}`));
    }, login.timeoutMs);
    raw.once('connect', () => {
      clearTimeout(timer);
      raw.removeAllListeners('error');
      // Errors are read from 'close' by whoever owns the socket next; an unheard 'error' would crash the process.
      raw.on('error', () => undefined);
      resolve(raw);
    });
    raw.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProxyError('upstream_unreachable', `cannot reach ${login.address}: ${err.code ?? err.message}`));
    });
  });
  try {
    let secure = false;
    if (!plaintext) {
      socket = await startTls(socket, host, login);
      reads.follow(socket);
      secure = true;
    }
    return await withTimeout(authenticate(socket, reads, login, secure), login.timeoutMs, () => socket.destroy(), `timed out logging in to ${login.address}`);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

async function startTls(socket: net.Socket, host: string, login: UpstreamLogin): Promise<tls.TLSSocket> {
  const answer = await withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new ProxyError('upstream_unreachable', `${login.address} closed the connection during TLS negotiation`)));
      socket.write(sslRequest());
    }),
    login.timeoutMs,
    () => socket.destroy(),
    `timed out negotiating TLS with ${login.address}`,
  );
  socket.removeAllListeners('data');
  socket.removeAllListeners('error');
  socket.removeAllListeners('close');
  if (answer.length !== 1 || answer[0] !== 0x53) {
    // 'N', or anything injected before the handshake (CVE-2021-23222): refuse either way.
    throw new ProxyError('upstream_tls', `${login.address} does not accept TLS, but target TLS mode is ${login.tls.mode}`);
  }
  socket.pause();
  const ca = login.tls.ca ? await readFile(login.tls.ca.slice('file:'.length)).catch((err: NodeJS.ErrnoException) => {
    throw new ProxyError('upstream_tls', `cannot read the target's CA file (${err.code ?? err.message})`);
  }) : undefined;
  const verify = login.tls.mode === 'verify-full';
  const servername = login.tls.serverName ?? host;
  return withTimeout(
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const secure = tls.connect({
        socket,
        ...(net.isIP(servername) ? {} : { servername }),
        ...(ca ? { ca } : {}),
        rejectUnauthorized: verify,
        checkServerIdentity: verify ? (_name, cert) => tls.checkServerIdentity(servername, cert) : () => undefined,
      });
      secure.once('secureConnect', () => {
        secure.removeAllListeners('error');
        secure.on('error', () => undefined);
        resolve(secure);
      });
      secure.once('error', (err) => reject(new ProxyError('upstream_tls', `TLS with ${login.address} failed: ${err.message}`)));
    }),
    login.timeoutMs,
    () => socket.destroy(),
    `timed out in the TLS handshake with ${login.address}`,
  );
}

function authenticate(socket: net.Socket, reads: UpstreamReads, login: UpstreamLogin, secure: boolean): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    const parameters: Array<[string, string]> = [];
    const notices: Buffer[] = [];
    let key: { processId: number; secretKey: Buffer } | null = null;
    let scram: ScramClient | null = null;
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      reads.handler = () => undefined;
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (err: Error) => fail(new ProxyError('upstream_unreachable', `connection to ${login.address} failed: ${err.message}`));
    const onClose = () => fail(new ProxyError('upstream_unreachable', `${login.address} closed the connection during login`));

    const handle = (type: number, message: Buffer): boolean => {
      const parsed = parseOne(message);
      switch (parsed.name) {
        case 'authenticationOk':
          return false;
        case 'authenticationCleartextPassword':
          socket.write(serialize.password(requirePassword(login)));
          return false;
        case 'authenticationMD5Password': {
          const salt = (parsed as unknown as { salt: Buffer }).salt;
          socket.write(serialize.password(md5Password(login.user, requirePassword(login), salt)));
          return false;
        }
        case 'authenticationSASL': {
          const mechanisms = (parsed as unknown as { mechanisms: string[] }).mechanisms;
          if (!mechanisms.includes('SCRAM-SHA-256')) throw new UpstreamLoginError(`${login.address} offers no supported SASL mechanism (${mechanisms.join(', ')})`, null);
          scram = new ScramClient(requirePassword(login));
          socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.first()));
          return false;
        }
        case 'authenticationSASLContinue':
          if (!scram) throw new UpstreamLoginError('unexpected SASL message from the server', null);
          socket.write(serialize.sendSCRAMClientFinalMessage(scram.final((parsed as unknown as { data: string }).data)));
          return false;
        case 'authenticationSASLFinal':
          if (!scram?.verify((parsed as unknown as { data: string }).data)) {
            throw new UpstreamLoginError(`${login.address} failed to prove it knows the password (SCRAM server signature mismatch)`, null);
          }
          return false;
        case 'parameterStatus': {
          const status = parsed as ParameterStatusMessage;
          parameters.push([status.parameterName, status.parameterValue]);
          return false;
        }
        case 'backendKeyData': {
          const keyData = parsed as BackendKeyDataMessage;
          key = { processId: keyData.processID, secretKey: Buffer.from(message.subarray(9)) };
          return false;
        }
        case 'notice':
          notices.push(Buffer.from(message));
          return false;
        case 'error': {
          const error = parsed as DatabaseError;
          throw new UpstreamLoginError(error.message, error.code ?? null);
        }
        case 'readyForQuery':
          return true;
        default:
          if (type === Backend.NegotiateProtocolVersion) return false;
          throw new UpstreamLoginError(`unexpected message '${String.fromCharCode(type)}' from ${login.address} during login`, null);
      }
    };

    const onData = (chunk: Buffer) => {
      // A copy: the chunk may live in a buffer the next read reuses.
      pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
      try {
        while (pending.length >= 5) {
          const length = pending.readInt32BE(1);
          if (length < 4 || length > 1 << 24) throw new ProxyError('upstream_protocol', `${login.address} sent an invalid message during login`);
          if (pending.length < 1 + length) return;
          const message = pending.subarray(0, 1 + length);
          pending = pending.subarray(1 + length);
          if (handle(message[0]!, message)) {
            cleanup();
            socket.pause();
            if (!key) key = { processId: 0, secretKey: Buffer.alloc(4) };
            resolve({ socket, reads, parameters, processId: key.processId, secretKey: key.secretKey, notices, rest: Buffer.from(pending), tls: secure });
            return;
          }
        }
      } catch (err) {
        fail(err as Error);
      }
    };

    reads.handler = onData;
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(startupMessage([['user', login.user], ['database', login.database], ...login.parameters]));
    socket.resume();
  });
}

/** One complete message through pg-protocol's parser (given a copy: the parser writes into its input). */
function parseOne(message: Buffer): BackendMessage {
  let parsed: BackendMessage | null = null;
  new Parser().parse(Buffer.from(message), (m) => (parsed = m));
  if (!parsed) throw new ProxyError('upstream_protocol', 'could not parse a message from the upstream');
  return parsed;
}

function requirePassword(login: UpstreamLogin): string {
  if (login.password === null) {
    throw new UpstreamLoginError(`${login.address} asks for a password for user "${login.user}", but the target has no credentials for it`, null);
  }
  return login.password;
}

export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
}

/** SaltedPassword by (password, salt, iterations): PBKDF2 runs once per upstream role, not per connection. */
const saltedCache = new Map<string, Buffer>();

class ScramClient {
  private readonly nonce = randomBytes(18).toString('base64');
  private expectedSignature: Buffer | null = null;

  constructor(private readonly password: string) {}

  first(): string {
    return `n,,n=,r=${this.nonce}`;
  }

  final(serverFirst: string): string {
    const attributes = new Map(serverFirst.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as [string, string]));
    const nonce = attributes.get('r') ?? '';
    const salt = Buffer.from(attributes.get('s') ?? '', 'base64');
    const iterations = Number(attributes.get('i'));
    if (!nonce.startsWith(this.nonce) || salt.length === 0 || !Number.isInteger(iterations) || iterations < 1) {
      throw new UpstreamLoginError('malformed SCRAM message from the server', null);
    }
    const cacheKey = createHash('sha256').update(this.password).update('\0').update(salt).update(`\0${iterations}`).digest('base64');
    let salted = saltedCache.get(cacheKey);
    if (!salted) {
      salted = saltedPassword(this.password, salt, iterations);
      if (saltedCache.size > 1000) saltedCache.clear();
      saltedCache.set(cacheKey, salted);
    }
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `n=,r=${this.nonce},${serverFirst},${withoutProof}`;
    const { proof, expectedServerSignature } = clientProofFromSalted(salted, authMessage);
    this.expectedSignature = expectedServerSignature;
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verify(serverFinal: string): boolean {
    const signature = /(?:^|,)v=([^,]+)/.exec(serverFinal)?.[1];
    return Boolean(signature && this.expectedSignature && Buffer.from(signature, 'base64').equals(this.expectedSignature));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new ProxyError('upstream_unreachable', message));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
