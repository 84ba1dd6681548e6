import { readFile } from 'node:fs/promises';
import ssh2, { type Connection, type ClientInfo } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import { parseHostPort, type Listener, type ListenAddress } from '../../core/listener.js';
import { VERSION } from '../../core/version.js';
import { RecordingWriter } from '../../recorder/recording-writer.js';
import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import { messages } from './operator-messages.js';
import { serveRefusal } from './refused-connection.js';
import { serveRequestDoor } from './request-door.js';
import { SshAuthenticator } from './ssh-authenticator.js';
import { sshMetrics, type SshServices } from './ssh-services.js';
import { SshSession } from './ssh-session.js';

/** How long a client may take to authenticate (OpenSSH's LoginGraceTime is 120 s). */
const AUTH_TIMEOUT_MS = 60_000;

/**
 * The SSH front end: OpenSSH clients connect here with `login@target` as their user name.
 * Each connection authenticates by public key, gets an access decision, and — if allowed —
 * becomes an SshSession bridged to the target.
 */
export class SshListener implements Listener {
  readonly protocol = 'ssh';
  private server: ssh2.Server | null = null;
  private readonly sessions = new Set<SshSession>();
  private readonly services: SshServices;

  constructor(private readonly context: ProxyContext) {
    this.services = {
      context,
      writer: new RecordingWriter({ logger: context.logger }),
      metrics: sshMetrics(context.metrics),
    };
  }

  async start(signal: AbortSignal): Promise<ListenAddress> {
    const { config } = this.context;
    if (!config.listen.ssh) throw new ProxyError('not_configured', 'listen.ssh is off');
    const address = parseHostPort(config.listen.ssh);
    let hostKey: Buffer;
    try {
      hostKey = await readFile(config.ssh.hostKey);
    } catch (err) {
      throw new ProxyError('host_key_unreadable', `cannot read the SSH host key ${config.ssh.hostKey}: ${errorMessage(err)}`);
    }
    const server = new ssh2.Server({ hostKeys: [hostKey], ident: `Custos_${VERSION}` }, (connection, info) => this.accept(connection, info));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error: Error) => this.context.logger.error('ssh listener error', { error }));
    signal.addEventListener('abort', () => server.close(), { once: true });
    const bound = server.address() as { address: string; port: number };
    return { host: bound.address, port: bound.port };
  }

  /** The lifecycle has drained the sessions by now; whatever is left ends here. */
  async stop(): Promise<void> {
    this.server?.close();
    await Promise.allSettled([...this.sessions].map((session) => session.end('the gateway shut down', 'custos: the gateway is shutting down')));
    await this.services.writer.stop();
  }

  private accept(connection: Connection, info: ClientInfo): void {
    const { logger } = this.context;
    const clientAddr = info.ip ?? null;
    this.services.metrics.connections();
    // Keystrokes and echoes are single small packets: never hold them back (Nagle).
    (connection as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    connection.on('error', (error: Error) => logger.debug('ssh connection error', { clientAddr, error: error.message }));
    let username: string | null = null;
    const authenticator = new SshAuthenticator(this.context.access, clientAddr, logger, () => connection.end(), () => this.context.lifecycle.newSessionId());
    connection.on('authentication', (ctx) => {
      username = ctx.username;
      void authenticator.handle(ctx);
    });
    const authTimer = setTimeout(() => connection.end(), AUTH_TIMEOUT_MS);
    connection.once('close', () => {
      clearTimeout(authTimer);
      if (!authenticator.outcome) {
        this.services.metrics.authFailures();
        void authenticator.connectionClosed(username);
      }
    });
    connection.once('ready', () => {
      clearTimeout(authTimer);
      const outcome = authenticator.outcome;
      if (outcome?.kind === 'request') {
        logger.info('ssh request door', { clientAddr, identity: outcome.identity.name });
        return serveRequestDoor(connection, outcome, this.context.requests, logger);
      }
      if (!outcome || outcome.kind === 'denied') {
        logger.info('ssh access denied', { clientAddr, identity: outcome?.identity.name, reason: outcome?.kind === 'denied' ? outcome.message : 'no outcome' });
        return serveRefusal(connection, outcome?.kind === 'denied' ? outcome.message : messages.unavailable);
      }
      const live = this.context.lifecycle.open({
        id: outcome.sessionId,
        protocol: 'ssh',
        identity: outcome.identity,
        credential: outcome.credential,
        target: { name: outcome.target.name, address: outcome.target.address },
        action: { kind: 'ssh.session', login: outcome.login },
        decision: outcome.decision,
        login: outcome.login,
        clientAddr,
      });
      const session = new SshSession(this.services, connection, clientAddr, outcome, live);
      this.sessions.add(session);
      logger.info('ssh session started', { session: session.id, identity: outcome.identity.name, target: outcome.target.name, login: outcome.login, clientAddr });
      void session.serve();
      connection.once('close', () => void session.end('the client disconnected').finally(() => this.sessions.delete(session)));
    });
  }
}
