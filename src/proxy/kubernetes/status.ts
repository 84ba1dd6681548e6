import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CustosError, errorMessage } from '../../core/errors.js';
import { ProxyError } from '../errors.js';
import type { Ending } from '../lifecycle/ending.js';

/** A refusal as Kubernetes clients read it: a metav1.Status with an HTTP code and a reason. */
export interface KubeStatus {
  code: number;
  reason: string;
  message: string;
  details?: { name?: string; group?: string; kind?: string };
}

/**
 * ProxyError codes raised by the Kubernetes front end and the Status each becomes: the one
 * place gateway failures are mapped to the wire. Codes not listed are internal errors.
 */
const STATUS_OF_CODE: Record<string, { code: number; reason: string }> = {
  unauthenticated: { code: 401, reason: 'Unauthorized' },
  forbidden: { code: 403, reason: 'Forbidden' },
  bad_request: { code: 400, reason: 'BadRequest' },
  protocol_violation: { code: 400, reason: 'BadRequest' },
  not_found: { code: 404, reason: 'NotFound' },
  evidence_unavailable: { code: 503, reason: 'ServiceUnavailable' },
  audit_unavailable: { code: 503, reason: 'ServiceUnavailable' },
  upstream_unreachable: { code: 503, reason: 'ServiceUnavailable' },
  session_ended: { code: 503, reason: 'ServiceUnavailable' },
  upstream_config: { code: 500, reason: 'InternalError' },
};

/** The Status for any failure; messages of errors not raised on purpose stay in the log. */
export function statusFor(error: unknown): KubeStatus {
  if (error instanceof ProxyError) {
    const mapped = STATUS_OF_CODE[error.code] ?? { code: 500, reason: 'InternalError' };
    return { ...mapped, message: error.message };
  }
  if (error instanceof CustosError && error.layer === 'recorder') {
    return { code: 503, reason: 'ServiceUnavailable', message: `custos: the gateway cannot record requests right now, so none are served (${errorMessage(error)})` };
  }
  return { code: 500, reason: 'InternalError', message: 'custos: the gateway could not serve this request (see the gateway log)' };
}

/** The Status a running request (a watch, an exec) is ended with when its session ends. */
export function endingStatus(ending: Ending): KubeStatus {
  const message = `custos: ${ending.message}`;
  switch (ending.kind) {
    case 'expired':
      return { code: 401, reason: 'Unauthorized', message };
    case 'terminated':
    case 'revoked':
      return { code: 403, reason: 'Forbidden', message };
    default:
      return { code: 503, reason: 'ServiceUnavailable', message };
  }
}

export function statusJson(status: KubeStatus): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: status.message,
    reason: status.reason,
    ...(status.details ? { details: status.details } : {}),
    code: status.code,
  });
}

/** Answers a plain request with the Status (or just ends it if the head is out already). */
export function sendStatus(res: ServerResponse, status: KubeStatus): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusJson(status);
  res.writeHead(status.code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache, private',
    ...(status.code === 401 ? { 'WWW-Authenticate': 'Bearer realm="custos"' } : {}),
  });
  res.end(body);
}

/** Answers an upgrade request with the Status as a plain HTTP response, then closes. */
export function rejectUpgrade(socket: Duplex, status: KubeStatus): void {
  if (socket.destroyed) return;
  const body = statusJson(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${status.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-cache, private\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A watch event carrying a Status: how a watch is told why the gateway ends it. */
export function watchErrorEvent(status: KubeStatus): string {
  return `{"type":"ERROR","object":${statusJson(status)}}\n`;
}

/** Refusal constructors, so every message names the identity, the target and why. */
export const refusals = {
  unauthenticated: (why: string) =>
    new ProxyError('unauthenticated', `custos: ${why}; present a Custos identity token as the bearer token (custos kubeconfig <identity> --target <target>)`),
  forbidden: (identity: string, target: string, why: string) => new ProxyError('forbidden', `custos: ${identity} is not allowed on target ${target}: ${why}`),
  notFound: (message: string) => new ProxyError('not_found', `custos: ${message}`),
  evidence: (identity: string, target: string, why: string) =>
    new ProxyError('evidence_unavailable', `custos: the gateway cannot record ${identity}'s requests on target ${target} right now, so they are refused (${why})`),
};
