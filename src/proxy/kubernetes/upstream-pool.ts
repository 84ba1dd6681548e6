import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:https';
import { isIP } from 'node:net';
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
  /** The TLS server name to present and check ('' for an IP address without tls-server-name). */
  servername: string;
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
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const tls = upstreamTlsOptions(upstream);
  return {
    target,
    server: upstream.server,
    hostname,
    port: Number(url.port || 443),
    servername: upstream.tlsServerName ?? (isIP(hostname) ? '' : hostname),
    basePath: url.pathname.replace(/\/+$/, ''),
    agent: new UpstreamAgent(tls),
    tls,
    authorization: upstream.token ? `Bearer ${upstream.token}` : null,
  };
}

/**
 * The keep-alive agent of one cluster. Its CA and client certificate are added where its
 * connections are made, not to its options: https.Agent names every request's connection
 * pool from its options, and a certificate in them is turned into text and hashed per request.
 */
class UpstreamAgent extends Agent {
  private readonly secrets: Pick<AgentOptions, 'ca' | 'cert' | 'key'>;

  constructor(tls: AgentOptions) {
    const { ca, cert, key, ...rest } = tls;
    super({ ...rest, keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' });
    this.secrets = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }

  override createConnection(options: Parameters<Agent['createConnection']>[0], callback?: Parameters<Agent['createConnection']>[1]): ReturnType<Agent['createConnection']> {
    return super.createConnection({ ...options, ...this.secrets }, callback);
  }
}

function fingerprint(upstream: KubeUpstream): string {
  const hash = createHash('sha256');
  for (const part of [upstream.server, upstream.ca, upstream.clientCert, upstream.clientKey, upstream.token, upstream.tlsServerName, String(upstream.insecureSkipTlsVerify)]) {
    hash.update(part ?? '').update('\0');
  }
  return hash.digest('hex');
}
