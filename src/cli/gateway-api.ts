import http from 'node:http';
import https from 'node:https';
import { CustosError } from '../core/errors.js';

/** A gateway's web API reached as an identity (bearer token). */
export interface GatewayApi {
  /** Base URL, e.g. `https://gw.example:8080`. */
  url: string;
  token: string;
  /** PEM of a CA to trust besides the system's. */
  ca?: string;
}

/**
 * Failures talking to the gateway's API: `refused`, `bad_request`, `not_found` (the request
 * was wrong: exit 2), `unauthorized`, `conflict`, `unavailable` (exit 1).
 */
export class GatewayApiError extends CustosError {
  readonly layer = 'api';
}

const REFUSALS: Record<number, string> = { 400: 'bad_request', 403: 'refused', 404: 'not_found', 401: 'unauthorized', 409: 'conflict', 429: 'rate_limited' };

/** One JSON call; an error answer becomes a GatewayApiError with the gateway's message. */
export function callApi<T>(api: GatewayApi, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = new URL(path, api.url.endsWith('/') ? api.url : `${api.url}/`);
  const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${api.token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        ...(url.protocol === 'https:' && api.ca ? { ca: api.ca } : {}),
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = null;
          }
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const message = (parsed as { message?: string } | null)?.message ?? `HTTP ${status}`;
          const code = REFUSALS[status] ?? 'unavailable';
          reject(new GatewayApiError(code, code === 'unauthorized' ? `${message} (run custos login again, or set CUSTOS_TOKEN)` : message));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', (err) => reject(new GatewayApiError('unavailable', `cannot reach the gateway at ${api.url}: ${err.message}`)));
    request.end(payload ?? undefined);
  });
}
