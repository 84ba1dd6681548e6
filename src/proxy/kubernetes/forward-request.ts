import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../../core/errors.js';
import { ProxyError } from '../errors.js';
import { upstreamHeaders, type ImpersonatedUser } from './impersonation.js';
import { sendStatus, statusFor, watchErrorEvent, type KubeStatus } from './status.js';
import type { KubeUpstreamClient } from './upstream-pool.js';

export interface ForwardOutcome {
  /** The status answered to the client. */
  code: number | null;
  requestBytes: number;
  responseBytes: number;
  /** Set when the request did not simply complete (the gateway ended it, a side broke off). */
  reason: string | null;
}

export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: KubeUpstreamClient;
  /** The API path and query, after `/k8s/<target>`. */
  rest: string;
  as: ImpersonatedUser;
  /** Send the response head at once (watches, log streams): the client waits for it. */
  streaming: boolean;
  /** Bytes as they pass (counters). */
  onBytes(toClient: number, fromClient: number): void;
  onDone(outcome: ForwardOutcome): void;
}

export interface ForwardedRequest {
  /** Ends the request from the gateway's side: a watch gets an ERROR event with the Status, any other stream ends. */
  end(status: KubeStatus, reason: string): void;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/**
 * Relays one plain API request to the cluster and its response back, streaming both bodies
 * chunk by chunk with backpressure (a list of any size or a watch holds a chunk at a time),
 * counting bytes. The cluster sees the gateway's credentials and the decision's
 * impersonation, never the client's.
 */
export function forwardRequest(options: ForwardOptions): ForwardedRequest {
  const { req, res, upstream } = options;
  let requestBytes = 0;
  let responseBytes = 0;
  let code: number | null = null;
  let endedBy: string | null = null;
  let done = false;
  /** A JSON watch can be told why it ends only between two events. */
  let watchJson = false;
  let atEventBoundary = true;

  const finish = (reason: string | null) => {
    if (done) return;
    done = true;
    options.onDone({ code, requestBytes, responseBytes, reason: endedBy ?? reason });
  };

  const upstreamReq = httpsRequest({
    agent: upstream.agent,
    hostname: upstream.hostname,
    port: upstream.port,
    // Given, so the agent does not work it out from the Host header on every request.
    servername: upstream.servername,
    method: req.method,
    path: `${upstream.basePath}${options.rest}`,
    headers: upstreamHeaders(req.headers, upstream, options.as),
  });

  req.on('data', (chunk: Buffer) => {
    requestBytes += chunk.length;
    options.onBytes(0, chunk.length);
    if (!upstreamReq.write(chunk)) req.pause();
  });
  upstreamReq.on('drain', () => req.resume());
  req.on('end', () => upstreamReq.end());

  upstreamReq.on('response', (upstreamRes) => {
    code = upstreamRes.statusCode ?? 502;
    const headers = responseHeaders(upstreamRes.rawHeaders);
    const type = String(upstreamRes.headers['content-type'] ?? '');
    watchJson = options.streaming && type.startsWith('application/json') && !upstreamRes.headers['content-encoding'];
    res.writeHead(code, upstreamRes.statusMessage, headers);
    if (options.streaming) res.flushHeaders();
    upstreamRes.on('data', (chunk: Buffer) => {
      responseBytes += chunk.length;
      options.onBytes(chunk.length, 0);
      atEventBoundary = chunk[chunk.length - 1] === 0x0a;
      if (!res.write(chunk)) upstreamRes.pause();
    });
    res.on('drain', () => upstreamRes.resume());
    upstreamRes.on('end', () => {
      if (!endedBy) res.end();
    });
    // Cut off by the cluster: the client must not take a truncated body for a whole one.
    upstreamRes.on('error', () => {
      if (!endedBy) res.destroy();
    });
    upstreamRes.on('aborted', () => {
      if (!endedBy) res.destroy();
    });
  });

  upstreamReq.on('error', (error) => {
    if (done || endedBy) return;
    if (!res.headersSent) {
      const status = statusFor(new ProxyError('upstream_unreachable', `custos: the gateway cannot reach the API server of target ${upstream.target}: ${errorMessage(error)}`));
      code = status.code;
      sendStatus(res, status);
      return finish(`upstream: ${errorMessage(error)}`);
    }
    res.destroy();
  });

  res.on('finish', () => finish(null));
  res.on('close', () => {
    if (!res.writableFinished) {
      upstreamReq.destroy();
      finish(endedBy ?? 'the client went away before the response was complete');
    }
  });

  return {
    end(status, reason) {
      if (done || endedBy) return;
      endedBy = reason;
      upstreamReq.destroy();
      if (!res.headersSent) {
        code = status.code;
        sendStatus(res, status);
      } else if (watchJson && atEventBoundary) {
        res.end(watchErrorEvent(status));
      } else {
        res.end();
      }
    },
  };
}

/** The cluster's response headers as it sent them (name case, order, repeats), without hop-by-hop ones. */
function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
