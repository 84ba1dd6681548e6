import type { IncomingMessage } from 'node:http';
import { errorMessage } from '../../core/errors.js';
import type { Decision, KubernetesRequestAction } from '../../policy/model.js';
import type { KubeRequestStart } from '../../recorder/kube-request-log.js';
import { ProxyError } from '../errors.js';
import type { ApiSession } from './api-session.js';
import { clientImpersonationHeaders, type ImpersonatedUser } from './impersonation.js';
import type { KubeServices } from './kube-services.js';
import { kubeRequestInfo, STREAMING_SUBRESOURCES, type KubeRequestInfo } from './request-info.js';
import { refusals } from './status.js';

/** A request the decision allowed, with what its evidence row needs. */
export interface Admitted {
  info: KubeRequestInfo;
  /** The query of logs and pod-stream requests (empty for others). */
  query: URLSearchParams;
  action: KubernetesRequestAction;
  decision: Decision;
  /** Whom the gateway acts as upstream. */
  as: ImpersonatedUser;
  longRunning: boolean;
  /** The request's row, for the session it belongs to (the API session, or its own exec session). */
  row: KubeRequestStart;
}

const MAX_PATH_CHARS = 8192;

/**
 * Decides one request of an API session: refused when the client brings its own
 * Impersonate-* headers, when its path cannot be read the way the cluster would read it, or
 * when the decision denies it. A refusal is written to the request log and the audit log
 * (`access.deny`) and thrown as ProxyError for the caller to answer as a Status.
 */
export function admitRequest(services: KubeServices, api: ApiSession, req: IncomingMessage, rest: string): Admitted {
  const method = req.method ?? 'GET';
  const row = (info: KubeRequestInfo | null, decision: Decision | null, reason: string | null, longRunning: boolean): KubeRequestStart => ({
    sessionId: api.id,
    seq: api.nextSeq(),
    identityId: api.identity.id,
    identityName: api.identity.name,
    target: api.target.name,
    method,
    verb: info?.verb ?? method.toLowerCase(),
    apiGroup: info?.apiGroup ?? '',
    apiVersion: info?.apiVersion ?? '',
    resource: info?.resource ?? '',
    subresource: info?.subresource ?? '',
    namespace: info?.namespace ?? '',
    name: info?.name ?? '',
    path: rest.length > MAX_PATH_CHARS ? `${rest.slice(0, MAX_PATH_CHARS)}…` : rest,
    decision: decision?.allow ? 'allowed' : 'denied',
    reason,
    kubeUser: decision?.allow ? (decision.kubeUsers?.[0] ?? null) : null,
    kubeGroups: decision?.allow ? (decision.kubeGroups ?? []) : null,
    clientAddr: api.clientAddr,
    userAgent: req.headers['user-agent']?.slice(0, 256) ?? null,
    details: null,
    longRunning,
  });

  const impersonating = clientImpersonationHeaders(req.headers);
  if (impersonating.length > 0) {
    const why = `the client sent ${impersonating.map(headerName).join(', ')}: the gateway chooses whom it acts as, clients cannot`;
    throw refuse(services, api, row(null, null, why, false), 403, refusals.forbidden(api.identity.name, api.target.name, why));
  }
  let info: KubeRequestInfo;
  try {
    info = kubeRequestInfo(method, rest);
  } catch (error) {
    const why = errorMessage(error);
    throw refuse(services, api, row(null, null, why, false), 400, new ProxyError('bad_request', `custos: ${why}`));
  }
  const action: KubernetesRequestAction = info.isResourceRequest
    ? { kind: 'kubernetes.request', verb: info.verb, apiGroup: info.apiGroup, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name }
    : { kind: 'kubernetes.request', verb: info.verb, resource: '', path: info.path };
  const decision = api.decide(action);
  const query = queryOf(info, rest);
  const longRunning = isLongRunning(info, query);
  if (!decision.allow) {
    throw refuse(services, api, row(info, decision, decision.reason, false), 403, refusals.forbidden(api.identity.name, api.target.name, decision.reason), action);
  }
  api.requestStarted(true);
  return {
    info,
    query,
    action,
    decision,
    as: { user: decision.kubeUsers![0]!, groups: decision.kubeGroups ?? [] },
    longRunning,
    row: row(info, decision, null, longRunning),
  };
}

const NO_QUERY = new URLSearchParams();

/** The query, for the requests whose handling reads it (logs, the pod streams); most requests never need it parsed. */
function queryOf(info: KubeRequestInfo, rest: string): URLSearchParams {
  const queryAt = rest.indexOf('?');
  if (queryAt < 0 || (info.subresource !== 'log' && !STREAMING_SUBRESOURCES.has(info.subresource))) return NO_QUERY;
  return new URLSearchParams(rest.slice(queryAt + 1));
}

/** Watches, followed logs, proxies and the pod streams run until someone ends them. */
function isLongRunning(info: KubeRequestInfo, query: URLSearchParams): boolean {
  if (info.verb === 'watch' || info.verb === 'proxy' || info.subresource === 'proxy') return true;
  if (STREAMING_SUBRESOURCES.has(info.subresource)) return true;
  return info.subresource === 'log' && /^(true|1)$/i.test(query.get('follow') ?? '');
}

/** Writes the refusal (request row, `access.deny`) and returns the error to answer with. */
function refuse(services: KubeServices, api: ApiSession, row: KubeRequestStart, code: number, error: ProxyError, action?: KubernetesRequestAction): ProxyError {
  const { context } = services;
  api.requestStarted(false);
  services.metrics.requests(code);
  try {
    services.requests.begin(row).end({ code, requestBytes: 0, responseBytes: 0 });
  } catch {
    // The request log is failing: the request is refused either way, and the audit event below still tells.
  }
  void context.audit
    .record({
      type: 'access.deny',
      actor: api.identity.name,
      identity: api.identity.name,
      sessionId: api.id,
      target: api.target.name,
      data: {
        protocol: 'kubernetes',
        action: action ?? { kind: 'kubernetes.request', verb: row.verb },
        method: row.method,
        path: row.path,
        reason: row.reason,
        credential: api.credential.id,
        clientAddr: api.clientAddr,
      },
    })
    .catch((err: unknown) => context.logger.error('could not record a refused kubernetes request', { session: api.id, error: errorMessage(err) }));
  return error;
}

function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}
