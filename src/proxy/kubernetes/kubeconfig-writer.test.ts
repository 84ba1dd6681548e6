import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildGatewayKubeconfig, targetServerUrl } from './kubeconfig-writer.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('buildGatewayKubeconfig', () => {
  it('has a cluster, user and context per target, the gateway CA inline, the first target current', () => {
    const config = YAML.parse(buildGatewayKubeconfig({ gatewayUrl: 'https://gw.example:8443/', caPem: CA, identity: 'alice', token: 'cus_tok', targets: ['prod', 'staging'], namespace: 'apps' }));
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'custos-prod', cluster: { server: 'https://gw.example:8443/k8s/prod', 'certificate-authority-data': Buffer.from(CA).toString('base64') } },
        { name: 'custos-staging', cluster: { server: 'https://gw.example:8443/k8s/staging', 'certificate-authority-data': Buffer.from(CA).toString('base64') } },
      ],
      users: [
        { name: 'alice@custos-prod', user: { token: 'cus_tok' } },
        { name: 'alice@custos-staging', user: { token: 'cus_tok' } },
      ],
      contexts: [
        { name: 'custos-prod', context: { cluster: 'custos-prod', user: 'alice@custos-prod', namespace: 'apps' } },
        { name: 'custos-staging', context: { cluster: 'custos-staging', user: 'alice@custos-staging', namespace: 'apps' } },
      ],
      'current-context': 'custos-prod',
      preferences: {},
    });
  });

  it('escapes a target name in the URL path', () => {
    expect(targetServerUrl('https://gw:8443', 'a b/c')).toBe('https://gw:8443/k8s/a%20b%2Fc');
  });

  it.each([
    [{ gatewayUrl: 'gw:8443' }, /not a URL|must be https/],
    [{ gatewayUrl: 'http://gw:8443' }, /must be https/],
    [{ targets: [] }, /at least one target/],
    [{ targets: ['a', 'a'] }, /named twice/],
    [{ token: '' }, /needs a token/],
    [{ caPem: 'not pem' }, /not a PEM certificate/],
  ])('refuses %j', (change, message) => {
    expect(() => buildGatewayKubeconfig({ gatewayUrl: 'https://gw:8443', caPem: CA, identity: 'alice', token: 't', targets: ['prod'], ...change })).toThrow(message);
  });
});
