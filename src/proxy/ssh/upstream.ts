import { EventEmitter } from 'node:events';
import ssh2, { type ClientChannel, type PseudoTtyOptions } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import { parseHostPort } from '../../core/listener.js';
import { resolveSecretRef } from '../../core/secret-ref.js';
import type { TargetSpec } from '../../policy/resource-schemas.js';
import { sshFingerprint } from '../../policy/ssh-keys.js';
import { ProxyError } from '../errors.js';

export interface UpstreamTarget {
  name: string;
  address: string;
  spec: TargetSpec;
}

export interface UpstreamCredentials {
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

export interface PtyRequest {
  term: string;
  cols: number;
  rows: number;
  width: number;
  height: number;
  modes: Record<string, number>;
}

/**
 * Credentials for a login on a target: `spec.credentials`, with the fields of
 * `spec.credentials.users[login]` taking precedence. References are resolved now, at
 * connect time, and the values live only in this connection attempt.
 */
export async function resolveCredentials(target: UpstreamTarget, login: string, env: NodeJS.ProcessEnv = process.env): Promise<UpstreamCredentials> {
  const { users, username: _username, ...defaults } = target.spec.credentials ?? {};
  const merged = { ...defaults, ...(users?.[login] ?? {}) };
  if (!merged.privateKey && !merged.password) {
    throw new ProxyError('credentials_missing', `target ${target.name} has no credentials for login ${login} (spec.credentials)`);
  }
  const resolved: UpstreamCredentials = {};
  try {
    if (merged.privateKey) resolved.privateKey = await resolveSecretRef(merged.privateKey, env);
    if (merged.passphrase) resolved.passphrase = await resolveSecretRef(merged.passphrase, env);
    if (merged.password) resolved.password = await resolveSecretRef(merged.password, env);
  } catch (err) {
    throw new ProxyError('credentials_missing', `target ${target.name}, login ${login}: ${errorMessage(err)}`, { cause: err });
  }
  return resolved;
}

interface PinnedHostKey {
  type: string;
  blob: Buffer;
  fingerprint: string;
}

export function pinnedHostKey(target: UpstreamTarget): PinnedHostKey {
  const line = target.spec.hostKey;
  const parsed = line ? ssh2.utils.parseKey(line.trim()) : new Error('no host key pinned');
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new ProxyError('host_key_missing', `target ${target.name} has no usable pinned host key (spec.hostKey)`);
  }
  const blob = key.getPublicSSH();
  return { type: key.type, blob, fingerprint: sshFingerprint(blob) };
}

/** Offer only the pinned key's algorithms, so the target presents the key that is pinned. */
function hostKeyAlgorithms(type: string): ssh2.ServerHostKeyAlgorithm[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type as ssh2.ServerHostKeyAlgorithm];
}

export interface HostKeyMismatch {
  expected: string;
  presented: string | null;
}

/**
 * The gateway's SSH connection to a target, made with the target's credentials, after the
 * target proved it holds the pinned host key. Emits `close` when the connection ends.
 */
export class UpstreamConnection extends EventEmitter {
  private closed = false;

  private constructor(
    readonly target: UpstreamTarget,
    readonly login: string,
    private readonly client: ssh2.Client,
  ) {
    super();
    client.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
  }

  static connect(
    target: UpstreamTarget,
    login: string,
    credentials: UpstreamCredentials,
    options: { readyTimeoutMs?: number; onHostKeyMismatch?: (mismatch: HostKeyMismatch) => void } = {},
  ): Promise<UpstreamConnection> {
    const pinned = pinnedHostKey(target);
    const { host, port } = parseHostPort(target.address);
    const client = new ssh2.Client();
    let presented: Buffer | null = null;
    return new Promise((resolve, reject) => {
      const fail = (err: Error & { level?: string }) => {
        client.removeAllListeners('ready');
        client.on('error', () => undefined);
        client.end();
        if (presented && !presented.equals(pinned.blob)) {
          const mismatch = { expected: pinned.fingerprint, presented: sshFingerprint(presented) };
          options.onHostKeyMismatch?.(mismatch);
          return reject(
            new ProxyError(
              'host_key_mismatch',
              `the host key of ${target.name} (${mismatch.presented}) does not match its pinned key (${mismatch.expected}); refusing to connect`,
            ),
          );
        }
        if (/no matching host key/i.test(err.message)) {
          options.onHostKeyMismatch?.({ expected: pinned.fingerprint, presented: null });
          return reject(new ProxyError('host_key_mismatch', `${target.name} offers no ${pinned.type} host key, which is the type pinned for it; refusing to connect`));
        }
        if (err.level === 'client-authentication') {
          return reject(new ProxyError('upstream_auth_failed', `${target.name} refused the gateway's credentials for login ${login}`));
        }
        if (err.level === 'client-timeout') {
          return reject(new ProxyError('upstream_unreachable', `${target.name} (${target.address}) did not answer in time`));
        }
        const code = (err as NodeJS.ErrnoException).code;
        reject(new ProxyError('upstream_unreachable', `cannot reach ${target.name} (${target.address}): ${code ?? err.message}`));
      };
      client.once('error', fail);
      client.once('ready', () => {
        client.off('error', fail);
        client.on('error', () => undefined);
        resolve(new UpstreamConnection(target, login, client));
      });
      client.connect({
        host,
        port,
        username: login,
        ...credentials,
        tryKeyboard: false,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: 30_000,
        algorithms: { serverHostKey: hostKeyAlgorithms(pinned.type) },
        hostVerifier: (key: Buffer) => {
          presented = key;
          return key.equals(pinned.blob);
        },
      });
      client.setNoDelay(true);
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  shell(pty: PtyRequest | null, env: Record<string, string>): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        this.client.shell(pty ? toPtyOptions(pty) : false, { env }, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  exec(command: string, pty: PtyRequest | null, env: Record<string, string>): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, { env, ...(pty ? { pty: toPtyOptions(pty) } : {}) }, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  subsystem(name: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        this.client.subsys(name, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  forwardOut(originHost: string, originPort: number, destHost: string, destPort: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        this.client.forwardOut(originHost, originPort, destHost, destPort, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  end(): void {
    this.client.end();
  }
}

function toPtyOptions(pty: PtyRequest): PseudoTtyOptions {
  return { term: pty.term, cols: pty.cols, rows: pty.rows, width: pty.width, height: pty.height, modes: pty.modes as PseudoTtyOptions['modes'] };
}
