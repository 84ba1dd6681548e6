import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../../core/errors.js';
import { admitRequest, type Admitted } from './admission.js';
import type { ApiSession } from './api-session.js';
import { ExecSession, type ExecUpgrade } from './exec-session.js';
import type { KubeServices } from './kube-services.js';
import { servePortForward } from './port-forward.js';
import { rejectUpgrade, statusFor } from './status.js';

/**
 * An upgrade request of an API session: decided like any request first (so a read-only role
 * gets 403 for exec whatever the method and upgrade), then exec and attach become sessions
 * of their own and port-forward a relayed tunnel. Only WebSocket upgrades are relayed: a
 * SPDY upgrade (what kubectl before 1.30/1.31 sends, and later ones fall back to) gets a
 * Status saying which kubectl to use.
 */
export function serveUpgrade(services: KubeServices, api: ApiSession, req: IncomingMessage, socket: Duplex, head: Buffer, rest: string, exec: ExecUpgrade): void {
  let admitted: Admitted;
  try {
    admitted = admitRequest(services, api, req, rest);
  } catch (error) {
    return rejectUpgrade(socket, statusFor(error));
  }
  const { info } = admitted;
  const stream = info.resource === 'pods' && info.name !== '' ? info.subresource : '';
  const websocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  const refuse = (code: number, reason: string, message: string) => {
    try {
      services.requests.begin(admitted.row).end({ code, requestBytes: 0, responseBytes: 0, reason: message });
    } catch {
      // the request log is failing; the refusal goes out either way
    }
    rejectUpgrade(socket, { code, reason, message });
  };
  if (!websocket) {
    return refuse(
      400,
      'BadRequest',
      `custos: the gateway relays exec, attach and port-forward over WebSocket only, not ${String(req.headers.upgrade ?? 'this upgrade')}: use kubectl 1.31 or later (WebSocket exec since 1.30, port-forward since 1.31)`,
    );
  }
  if (stream === 'exec' || stream === 'attach') {
    void new ExecSession(services, api, admitted, req, socket, head, rest, exec).start().catch((error: unknown) => {
      services.context.logger.error('kubernetes exec failed', { session: api.id, error: errorMessage(error) });
      socket.destroy();
    });
    return;
  }
  if (stream === 'portforward') {
    void servePortForward(services, api, admitted, req, socket, head, rest).catch((error: unknown) => {
      services.context.logger.error('kubernetes port-forward failed', { session: api.id, error: errorMessage(error) });
      socket.destroy();
    });
    return;
  }
  refuse(400, 'BadRequest', `custos: the gateway relays upgrades of pods/exec, pods/attach and pods/portforward only, not ${info.path}`);
}
