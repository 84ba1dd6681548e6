import type { IncomingMessage, ServerResponse } from 'node:http';
import { admitRequest } from './admission.js';
import type { ApiSession } from './api-session.js';
import { forwardRequest } from './forward-request.js';
import type { KubeServices } from './kube-services.js';
import { refusals, sendStatus, statusFor } from './status.js';

/**
 * One plain API request of an API session: decided, recorded (a long-running one before it
 * is forwarded, a short one when it ends), relayed; a watch or log stream is held by the
 * session so that whatever ends the session ends it too.
 */
export function serveRequest(services: KubeServices, api: ApiSession, req: IncomingMessage, res: ServerResponse, rest: string): void {
  let admitted;
  try {
    admitted = admitRequest(services, api, req, rest);
  } catch (error) {
    return sendStatus(res, statusFor(error));
  }
  let entry;
  try {
    entry = services.requests.begin(admitted.row);
  } catch (error) {
    services.metrics.requests(503);
    return sendStatus(res, statusFor(refusals.evidence(api.identity.name, api.target.name, (error as Error).message)));
  }
  let release: (() => void) | null = null;
  const forwarded = forwardRequest({
    req,
    res,
    upstream: api.upstream,
    rest,
    as: admitted.as,
    streaming: admitted.longRunning,
    onBytes: (toClient, fromClient) => api.live.transferred(toClient, fromClient),
    onDone: (outcome) => {
      release?.();
      services.metrics.requests(outcome.code);
      entry.end({ code: outcome.code, requestBytes: outcome.requestBytes, responseBytes: outcome.responseBytes, reason: outcome.reason });
    },
  });
  if (admitted.longRunning) release = api.hold({ action: admitted.action, end: (status, reason) => forwarded.end(status, reason) });
}
