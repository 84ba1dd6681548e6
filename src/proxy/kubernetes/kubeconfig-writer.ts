import YAML from 'yaml';
import { ProxyError } from '../errors.js';

/** The path under which the gateway serves one target's API: https://<gateway>/k8s/<target>. */
export const KUBE_TARGET_PATH_PREFIX = '/k8s/';

export interface GatewayKubeconfigInput {
  /** The gateway's Kubernetes listener as clients reach it, e.g. https://gw.example.com:8443. */
  gatewayUrl: string;
  /** The CA that signs the gateway's certificate (PEM). */
  caPem: string;
  /** The identity the token belongs to (names the kubeconfig users). */
  identity: string;
  /** The identity token, used as the bearer token of every target. */
  token: string;
  /** Target names, in order; the first is the current context. */
  targets: string[];
  /** Default namespace of every context. */
  namespace?: string;
}

/** Names in the kubeconfig for one target, distinct from what a user's own kubeconfig holds. */
export function kubeconfigNames(identity: string, target: string): { cluster: string; user: string; context: string } {
  return { cluster: `custos-${target}`, user: `${identity}@custos-${target}`, context: `custos-${target}` };
}

export function targetServerUrl(gatewayUrl: string, target: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}${KUBE_TARGET_PATH_PREFIX}${encodeURIComponent(target)}`;
}

/**
 * The kubeconfig `custos kubeconfig` prints: per target a cluster (the gateway URL with the
 * target in the path, the gateway CA inline), a user with the identity's token, and a
 * context joining them. kubectl and client libraries use it unchanged, alone or merged
 * (`KUBECONFIG=mine:custos kubectl config view --flatten`).
 */
export function buildGatewayKubeconfig(input: GatewayKubeconfigInput): string {
  let gateway: URL;
  try {
    gateway = new URL(input.gatewayUrl);
  } catch {
    throw new ProxyError('kubeconfig_invalid', `the gateway URL "${input.gatewayUrl}" is not a URL`);
  }
  if (gateway.protocol !== 'https:') throw new ProxyError('kubeconfig_invalid', 'the gateway URL must be https://');
  if (input.targets.length === 0) throw new ProxyError('kubeconfig_invalid', 'a kubeconfig needs at least one target');
  if (new Set(input.targets).size !== input.targets.length) throw new ProxyError('kubeconfig_invalid', 'a target is named twice');
  if (!input.token) throw new ProxyError('kubeconfig_invalid', 'a kubeconfig needs a token');
  if (!/-----BEGIN CERTIFICATE-----/.test(input.caPem)) throw new ProxyError('kubeconfig_invalid', 'the gateway CA is not a PEM certificate');
  const caData = Buffer.from(input.caPem).toString('base64');
  const entries = input.targets.map((target) => ({ target, names: kubeconfigNames(input.identity, target) }));
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map(({ target, names }) => ({ name: names.cluster, cluster: { server: targetServerUrl(input.gatewayUrl, target), 'certificate-authority-data': caData } })),
    users: entries.map(({ names }) => ({ name: names.user, user: { token: input.token } })),
    contexts: entries.map(({ names }) => ({
      name: names.context,
      context: { cluster: names.cluster, user: names.user, ...(input.namespace ? { namespace: input.namespace } : {}) },
    })),
    'current-context': entries[0]!.names.context,
    preferences: {},
  };
  return YAML.stringify(config, { lineWidth: 0 });
}
