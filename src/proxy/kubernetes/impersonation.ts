import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { KubeUpstreamClient } from './upstream-pool.js';

/** Whom the gateway acts as upstream for one request (from the decision). */
export interface ImpersonatedUser {
  user: string;
  groups: string[];
}

/** Headers that never travel from the client to the cluster as they are. */
const DROPPED = new Set([
  'host',
  'authorization',
  'proxy-authorization',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * The client's own impersonation headers (Impersonate-User, -Group, -Uid, -Extra-*), and the
 * front-proxy identity headers kube-apiserver reads by default (X-Remote-User, -Group,
 * -Extra-*, trusted only from a proxy certificate, but never the client's to set): a client
 * choosing whom the gateway's credentials act as would step around the decision, so any of
 * them refuses the request. Returns the names found.
 */
export function clientImpersonationHeaders(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers)
    .filter((name) => name.startsWith('impersonate-') || name.startsWith('x-remote-'))
    .sort();
}

/**
 * The headers of the request to the cluster: the client's, without hop-by-hop headers, its
 * credentials and any impersonation of its own; with the gateway's credentials and the
 * impersonation the decision chose. `keepUpgrade` keeps the WebSocket handshake headers
 * (but not an offer of compression, so the relayed frames stay readable).
 */
export function upstreamHeaders(client: IncomingHttpHeaders, upstream: KubeUpstreamClient, as: ImpersonatedUser, keepUpgrade = false): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(client)) {
    if (value === undefined || DROPPED.has(name) || name.startsWith('impersonate-') || name.startsWith('x-remote-')) continue;
    if (name === 'sec-websocket-extensions') continue;
    if (!keepUpgrade && name.startsWith('sec-websocket-')) continue;
    headers[name] = value;
  }
  headers.host = upstream.port === 443 ? upstream.hostname : `${upstream.hostname.includes(':') ? `[${upstream.hostname}]` : upstream.hostname}:${upstream.port}`;
  if (upstream.authorization) headers.authorization = upstream.authorization;
  headers['impersonate-user'] = as.user;
  if (as.groups.length > 0) headers['impersonate-group'] = as.groups;
  if (keepUpgrade) {
    headers.connection = 'Upgrade';
    headers.upgrade = client.upgrade ?? 'websocket';
  }
  return headers;
}

/** The same headers as lines of an HTTP/1.1 request head (for upgrades relayed as bytes). */
export function headerLines(headers: OutgoingHttpHeaders): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of [value].flat()) lines.push(`${name}: ${String(one).replace(/[\r\n]/g, '')}`);
  }
  return lines.join('\r\n');
}
