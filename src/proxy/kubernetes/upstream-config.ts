import { readFile } from 'node:fs/promises';
import type { AgentOptions } from 'node:https';
import { dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../../core/errors.js';
import { resolveSecretRef } from '../../core/secret-ref.js';
import { ProxyError } from '../errors.js';

/**
 * How the gateway reaches one cluster: what the current context of the target's kubeconfig
 * says, with every file it names already read. The gateway acts with this identity and sets
 * Impersonate-User / Impersonate-Group itself, so credentials that cannot be used from a
 * server (exec plugins, auth providers) or that impersonate on their own are refused.
 */
export interface KubeUpstream {
  /** The API server URL, without a trailing slash (it may carry a path prefix). */
  server: string;
  ca?: Buffer;
  clientCert?: Buffer;
  clientKey?: Buffer;
  token?: string;
  tlsServerName?: string;
  insecureSkipTlsVerify: boolean;
}

/**
 * Loads `spec.kubeconfig` of a kubernetes target: `file:PATH` (paths inside resolve against
 * the file's directory, as kubectl does) or `env:NAME` (the variable holds the kubeconfig
 * YAML). Errors are ProxyError('upstream_config') naming the target and what is wrong,
 * never a secret.
 */
export async function loadKubeUpstream(target: string, ref: string, env: NodeJS.ProcessEnv = process.env): Promise<KubeUpstream> {
  const fail = (message: string) => new ProxyError('upstream_config', `target ${target}: kubeconfig ${ref}: ${message}`);
  let text: string;
  try {
    text = await resolveSecretRef(ref, env);
  } catch (err) {
    throw new ProxyError('upstream_config', `target ${target}: kubeconfig ${errorMessage(err)}`);
  }
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (err) {
    throw fail(`is not a valid kubeconfig (${firstLine(errorMessage(err))})`);
  }
  if (ref.startsWith('file:')) config.makePathsAbsolute(dirname(ref.slice(5)));

  const contextName = config.getCurrentContext();
  if (!contextName) throw fail('has no current-context');
  const context = config.getContextObject(contextName);
  if (!context) throw fail(`current-context "${contextName}" is not defined`);
  const cluster = config.getCluster(context.cluster);
  if (!cluster) throw fail(`context "${contextName}" names cluster "${context.cluster}", which is not defined`);
  const user = config.getUser(context.user);
  if (!user) throw fail(`context "${contextName}" names user "${context.user}", which is not defined`);

  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw fail(`cluster "${cluster.name}" has no valid server URL`);
  }
  if (server.protocol !== 'https:') throw fail(`cluster "${cluster.name}" server must be an https:// URL`);
  if (cluster.proxyUrl) throw fail(`cluster "${cluster.name}" uses proxy-url, which the gateway does not support`);
  if (user.exec) throw fail(`user "${user.name}" uses an exec credential plugin; give the gateway a token or a client certificate`);
  if (user.authProvider) throw fail(`user "${user.name}" uses an auth-provider; give the gateway a token or a client certificate`);
  if (user.impersonateUser) throw fail(`user "${user.name}" impersonates on its own ("as"); the gateway sets impersonation per request`);
  if (user.username || user.password) throw fail(`user "${user.name}" uses basic authentication, which Kubernetes no longer accepts`);

  const read = async (what: string, file: string | undefined, data: string | undefined): Promise<Buffer | undefined> => {
    if (file) {
      try {
        return await readFile(file);
      } catch (err) {
        throw fail(`cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    return data ? Buffer.from(data, 'base64') : undefined;
  };
  const [ca, clientCert, clientKey] = await Promise.all([
    read('certificate-authority', cluster.caFile, cluster.caData),
    read('client-certificate', user.certFile, user.certData),
    read('client-key', user.keyFile, user.keyData),
  ]);
  const token = user.token?.trim() || undefined;
  if (!clientCert !== !clientKey) throw fail(`user "${user.name}" needs both a client certificate and its key`);
  if (!token && !clientCert) throw fail(`user "${user.name}" has no credentials (a token or a client certificate)`);

  return {
    server: server.toString().replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(clientCert && clientKey ? { clientCert, clientKey } : {}),
    ...(token ? { token } : {}),
    ...(cluster.tlsServerName ? { tlsServerName: cluster.tlsServerName } : {}),
    insecureSkipTlsVerify: cluster.skipTLSVerify,
  };
}

/** Options for the https.Agent (and WebSocket client) that talks to the upstream. */
export function upstreamTlsOptions(upstream: KubeUpstream): AgentOptions {
  return {
    ...(upstream.ca ? { ca: upstream.ca } : {}),
    ...(upstream.clientCert ? { cert: upstream.clientCert, key: upstream.clientKey } : {}),
    ...(upstream.tlsServerName ? { servername: upstream.tlsServerName } : {}),
    rejectUnauthorized: !upstream.insecureSkipTlsVerify,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 200);
}
