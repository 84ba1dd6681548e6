import type { AcceptConnection, ClientChannel, RejectConnection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import { messages } from './operator-messages.js';
import { relay } from './relay.js';
import { OPEN_FAILURE, rejectChannelOpen } from './ssh2-internals.js';
import type { SshSessionHost } from './session-host.js';

interface LiveForward {
  close(): Promise<void>;
}

/**
 * Local port forwarding (`ssh -L`, SSH "direct-tcpip" channels). Each forward is an access
 * decision of its own (`ssh.port-forward`: only roles with `portForwarding: true`), a row in
 * `port_forwards` — refused ones included — with the bytes carried each way, and an
 * `ssh.port-forward.end` audit event when it closes.
 */
export class PortForwards {
  private readonly live = new Set<LiveForward>();
  private opened = 0;

  constructor(private readonly session: SshSessionHost) {}

  get count(): number {
    return this.opened;
  }

  async open(accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo, channelId: number): Promise<void> {
    const { session } = this;
    const { context } = session.services;
    const { identity, credential, login } = session.access;
    const refuse = (code: number, text: string) => rejectChannelOpen(session.connection, reject, code, text);
    const destination = `${info.destIP}:${info.destPort}`;
    if (session.ended && !session.failure) return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'custos: the session is ending');
    this.opened += 1;
    const openedAt = new Date();
    const row = {
      sessionId: session.id,
      channelId,
      kind: 'local',
      destHost: info.destIP,
      destPort: info.destPort,
      originAddr: `${info.srcIP}:${info.srcPort}`,
      openedAt,
      closedAt: null as Date | null,
      bytesIn: 0,
      bytesOut: 0,
    };

    let allowed: boolean;
    let reason: string;
    try {
      const { decision } = await context.access.authorize({
        identity,
        credential,
        targetName: session.access.target.name,
        action: { kind: 'ssh.port-forward', login, host: info.destIP, port: info.destPort },
        protocol: 'ssh',
        clientAddr: session.clientAddr,
        sessionId: session.id,
      });
      allowed = decision.allow;
      reason = decision.reason;
    } catch (error) {
      session.logger.error('port forward decision could not be recorded', { error: errorMessage(error) });
      return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, messages.unavailable);
    }
    if (!allowed) {
      await session.evidence.addPortForward({ ...row, allowed: false, reason, closedAt: openedAt }).catch(() => undefined);
      return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, messages.accessDenied(reason));
    }

    let upstream: ClientChannel;
    try {
      upstream = await (await session.ready).forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort);
    } catch (error) {
      const detail = session.failure ? session.failure.message : `custos: ${destination} cannot be reached from ${session.access.target.name}: ${errorMessage(error)}`;
      await session.evidence.addPortForward({ ...row, allowed: true, reason: `not connected: ${errorMessage(error)}`, closedAt: new Date() }).catch(() => undefined);
      return refuse(OPEN_FAILURE.CONNECT_FAILED, detail);
    }
    let id: number;
    try {
      id = await session.evidence.addPortForward({ ...row, allowed: true, reason });
    } catch (error) {
      upstream.close();
      session.logger.error('port forward could not be recorded', { error: errorMessage(error) });
      return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, messages.unavailable);
    }
    if (session.ended) {
      upstream.close();
      return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'custos: the session is ending');
    }
    const client = accept();
    const bytes = { in: 0, out: 0 };
    relay(client, upstream, { chunk: (data) => ((bytes.out += data.length), session.transferred(0, data.length), true), writable: () => Promise.resolve() });
    relay(upstream, client, { chunk: (data) => ((bytes.in += data.length), session.transferred(data.length, 0), true), writable: () => Promise.resolve() });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());

    let closing: Promise<void> | null = null;
    const forward: LiveForward = {
      close: () =>
        (closing ??= (async () => {
          client.close();
          upstream.close();
          this.live.delete(forward);
          const closedAt = new Date();
          await session.evidence.updatePortForward(id, { closedAt, bytesIn: bytes.in, bytesOut: bytes.out }).catch((error: unknown) => {
            session.logger.error('could not close a port forward row', { error });
          });
          await context.audit
            .record({
              type: 'ssh.port-forward.end',
              actor: identity.name,
              identity: identity.name,
              sessionId: session.id,
              target: session.access.target.name,
              data: { destination, origin: row.originAddr, bytesIn: bytes.in, bytesOut: bytes.out, openedAt: openedAt.toISOString(), closedAt: closedAt.toISOString() },
            })
            .catch((error: unknown) => session.logger.error('could not record the end of a port forward', { error }));
        })()),
    };
    this.live.add(forward);
    let closes = 0;
    const onClose = () => {
      if (++closes === 2) void forward.close();
    };
    client.once('close', () => {
      upstream.close();
      onClose();
    });
    upstream.once('close', () => {
      client.end();
      onClose();
    });
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.live].map((forward) => forward.close()));
  }
}
