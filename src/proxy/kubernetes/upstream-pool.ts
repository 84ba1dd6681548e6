import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:https';
import type { Target } from '../../policy/model.js';
import { ProxyError } from '../errors.js';
import { loadKubeUpstream, upstreamTlsOptions, type KubeUpstream } from './upstream-config.js';

/** How the gateway talks to one cluster: address, its own credentials, and a keep-alive agent. */
export interface KubeUpstreamClient {
  target: string;
  /** The API server URL (without a trailing slash), for evidence. */
  server: string;
  hostname: string;
  port: number;
  /** The server URL's path prefix ('' or '/prefix'): the API path follows it. */
  basePath: string;
  agent: Agent;
  /** TLS options for connections made outside the agent (WebSocket and raw upgrades). */
  tls: AgentOptions;
  /** The gateway's own `Authorization` for this cluster, when it uses a token. */
  authorization: string | null;
}

/**
 * Upstream clients per target. A target's kubeconfig is read again whenever a session opens
 * (so a changed kubeconfig takes effect for new sessions), and the keep-alive agent is
 * reused while what it says stays the same.
 */
export class UpstreamPool {
  private readonly clients = new Map<string, { key: string; client: KubeUpstreamClient }>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async forTarget(target: Target): Promise<KubeUpstreamClient> {
    const ref = target.spec.kubeconfig;
    if (!ref) throw new ProxyError('upstream_config', `custos: target ${target.name} has no kubeconfig (spec.kubeconfig), so the gateway cannot reach its API server`);
    const upstream = await loadKubeUpstream(target.name, ref, this.env);
    const key = fingerprint(upstream);
    const known = this.clients.get(target.name);
    if (known?.key === key) return known.client;
    const client = makeClient(target.name, upstream);
    this.clients.set(target.name, { key, client });
    return client;
  }

  close(): void {
    for (const { client } of this.clients.values()) client.agent.destroy();
    this.clients.clear();
  }
}

function makeClient(target: string, upstream: KubeUpstream): KubeUpstreamClient {
  const url = new URL(upstream.server);
  const tls = upstreamTlsOptions(upstream);
  return {
    target,
    server: upstream.server,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 443),
    basePath: url.pathname.replace(/\/+$/, ''),
    agent: new Agent({ ...tls, keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' }),
    tls,
    authorization: upstream.token ? `Bearer ${upstream.token}` : null,
  };
}

function fingerprint(upstream: KubeUpstream): string {
  const hash = createHash('sha256');
  for (const part of [upstream.server, upstream.ca, upstream.clientCert, upstream.clientKey, upstream.token, upstream.tlsServerName, String(upstream.insecureSkipTlsVerify)]) {
    hash.update(part ?? '').update('\0');
  }
  return hash.digest('hex');
}
