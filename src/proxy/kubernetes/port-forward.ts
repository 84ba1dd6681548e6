import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../../core/errors.js';
import type { KubeRequestEntry } from '../../recorder/kube-request-log.js';
import type { Admitted } from './admission.js';
import type { ApiSession } from './api-session.js';
import { upstreamHeaders } from './impersonation.js';
import type { KubeServices } from './kube-services.js';
import { PortForwardObserver, type ForwardedConnection } from './port-forward-observer.js';
import { rawUpgrade } from './raw-upgrade.js';
import { refusals, rejectUpgrade, statusFor, type KubeStatus } from './status.js';

/**
 * One `kubectl port-forward` (WebSocket tunnelling SPDY/3.1, kubectl ≥ 1.31), a request
 * of its API session: decided (the roles' kubeRules and `portForwarding`), then relayed to
 * the cluster as bytes — the tunnel is not recorded — while the observer reads which pod
 * ports each forwarded connection goes to: a `port_forwards` row per connection (written
 * before its first bytes go on, with the bytes each way when it closes), the ports in the
 * request row, and a `kubernetes.port-forward.end` audit event. The API session ending
 * (kill, revocation, TTL, shutdown) cuts the tunnel.
 */
export async function servePortForward(
  services: KubeServices,
  api: ApiSession,
  admitted: Admitted,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  rest: string,
): Promise<void> {
  const { context } = services;
  const { info } = admitted;
  const pod = `${info.namespace}/${info.name}`;
  let entry: KubeRequestEntry;
  try {
    entry = services.requests.begin(admitted.row);
  } catch (error) {
    return rejectUpgrade(client, statusFor(refusals.evidence(api.identity.name, api.target.name, errorMessage(error))));
  }
  const ports = new Set<number>();
  const rows = new Map<number, number>();
  const bytes = { toClient: 0, fromClient: 0 };
  let connections = 0;
  let upstreamSocket: Duplex | null = null;
  let finished = false;
  let endedBy: string | null = null;

  const finish = (code: number | null, reason: string | null) => {
    if (finished) return;
    finished = true;
    release();
    client.destroy();
    upstreamSocket?.destroy();
    observer.close();
    const why = endedBy ?? reason;
    entry.end({ code, requestBytes: bytes.fromClient, responseBytes: bytes.toClient, reason: why, details: { ports: [...ports].sort((a, b) => a - b), connections } });
    services.metrics.requests(code);
    if (code !== 101) return;
    void context.audit
      .record({
        type: 'kubernetes.port-forward.end',
        actor: api.identity.name,
        identity: api.identity.name,
        sessionId: api.id,
        target: api.target.name,
        data: { pod, ports: [...ports], connections, bytesToPod: bytes.fromClient, bytesFromPod: bytes.toClient, reason: why },
      })
      .catch((error: unknown) => context.logger.error('could not record the end of a port-forward', { session: api.id, error: errorMessage(error) }));
  };

  const observer = new PortForwardObserver({
    opened: async (connection: ForwardedConnection) => {
      connections += 1;
      ports.add(connection.port);
      const id = await context.evidence.sessions.addPortForward({
        sessionId: api.id,
        channelId: null,
        kind: 'kubernetes',
        destHost: `pod/${pod}`,
        destPort: connection.port,
        originAddr: api.clientAddr,
        allowed: true,
        reason: null,
        openedAt: new Date(),
        closedAt: null,
        bytesIn: 0,
        bytesOut: 0,
      });
      rows.set(connection.streamId, id);
    },
    closed: (connection: ForwardedConnection) => {
      const id = rows.get(connection.streamId);
      if (id === undefined) return;
      rows.delete(connection.streamId);
      void context.evidence.sessions
        .updatePortForward(id, { closedAt: new Date(), bytesIn: connection.bytesFromPod, bytesOut: connection.bytesToPod })
        .catch((error: unknown) => context.logger.error('could not close a port forward row', { session: api.id, error: errorMessage(error) }));
    },
  });

  const release = api.hold({
    action: admitted.action,
    end: (status: KubeStatus, reason: string) => {
      endedBy = reason;
      if (!upstreamSocket) rejectUpgrade(client, status);
      finish(upstreamSocket ? 101 : status.code, reason);
    },
  });
  client.on('error', () => finish(upstreamSocket ? 101 : null, 'the client connection failed'));
  client.once('close', () => finish(upstreamSocket ? 101 : null, 'the client closed the tunnel'));

  const upstream = api.upstream;
  let answer;
  try {
    answer = await rawUpgrade(upstream, req.method ?? 'GET', `${upstream.basePath}${rest}`, upstreamHeaders(req.headers, upstream, admitted.as, true), head);
  } catch (error) {
    rejectUpgrade(client, statusFor(error));
    return finish(503, `upstream: ${errorMessage(error)}`);
  }
  const { socket } = answer;
  if (finished) return void socket.destroy();
  upstreamSocket = socket;
  socket.on('error', () => finish(101, 'the cluster connection failed'));
  socket.once('close', () => finish(answer.statusCode, answer.statusCode === 101 ? 'the cluster closed the tunnel' : null));
  client.write(answer.head);

  if (answer.statusCode !== 101) {
    // The cluster refused (no such pod, its RBAC …): the client reads its answer as it came.
    client.write(answer.rest);
    socket.on('data', (chunk: Buffer) => client.write(chunk));
    socket.once('end', () => client.end());
    socket.resume();
    return;
  }

  const broken = (error: unknown) => {
    context.logger.warn('port-forward tunnel could not be followed; ending it', { session: api.id, error: errorMessage(error) });
    endedBy = `the tunnel could not be followed: ${errorMessage(error)}`;
    finish(101, endedBy);
  };
  const toClient = (chunk: Buffer) => {
    bytes.toClient += chunk.length;
    api.live.transferred(chunk.length, 0);
    try {
      observer.fromUpstream(chunk);
    } catch (error) {
      return broken(error);
    }
    if (!client.write(chunk)) socket.pause();
  };
  if (answer.rest.length > 0) toClient(answer.rest);
  socket.on('data', toClient);
  client.on('drain', () => socket.resume());
  socket.on('drain', () => client.resume());
  client.on('data', (chunk: Buffer) => {
    bytes.fromClient += chunk.length;
    api.live.transferred(0, chunk.length);
    let waiting: Promise<void> | null;
    try {
      waiting = observer.fromClient(chunk);
    } catch (error) {
      return broken(error);
    }
    if (!waiting) {
      if (!socket.write(chunk)) client.pause();
      return;
    }
    // A new connection to the pod: its row is written before its first bytes go on.
    client.pause();
    waiting.then(
      () => {
        if (finished) return;
        socket.write(chunk);
        client.resume();
      },
      broken,
    );
  });
  socket.resume();
  client.resume();
}
