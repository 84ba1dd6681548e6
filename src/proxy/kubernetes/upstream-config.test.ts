import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeTempDir } from '../../../test/helpers/temp-dir.js';
import { loadKubeUpstream, upstreamTlsOptions } from './upstream-config.js';

const dir = makeTempDir('kupc-');
afterAll(() => dir.remove());

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
    ...extra,
  });
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir.path, name);
  writeFileSync(path, content);
  return path;
}

describe('loadKubeUpstream', () => {
  it('reads server, inline CA and token from a file: kubeconfig', async () => {
    const path = file('token.kubeconfig', kubeconfig({ server: 'https://10.0.0.30:6443/', 'certificate-authority-data': b64(CA), 'tls-server-name': 'kubernetes' }, { token: 'secret-token\n' }));
    const upstream = await loadKubeUpstream('prod', `file:${path}`);
    expect(upstream).toEqual({ server: 'https://10.0.0.30:6443', ca: CA, token: 'secret-token', tlsServerName: 'kubernetes', insecureSkipTlsVerify: false });
    expect(upstreamTlsOptions(upstream)).toEqual({ ca: CA, servername: 'kubernetes', rejectUnauthorized: true });
  });

  it('resolves certificate files relative to the kubeconfig, as kubectl does', async () => {
    mkdirSync(join(dir.path, 'pki'), { recursive: true });
    file('pki/ca.crt', CA);
    file('pki/gw.crt', 'CERT');
    file('pki/gw.key', 'KEY');
    const path = file('files.kubeconfig', kubeconfig({ server: 'https://k8s.example:443/prefix', 'certificate-authority': 'pki/ca.crt' }, { 'client-certificate': 'pki/gw.crt', 'client-key': 'pki/gw.key' }));
    const upstream = await loadKubeUpstream('prod', `file:${path}`);
    expect(upstream).toEqual({ server: 'https://k8s.example/prefix', ca: CA, clientCert: Buffer.from('CERT'), clientKey: Buffer.from('KEY'), insecureSkipTlsVerify: false });
    expect(upstreamTlsOptions(upstream)).toMatchObject({ cert: Buffer.from('CERT'), key: Buffer.from('KEY'), rejectUnauthorized: true });
  });

  it('reads a kubeconfig held in an environment variable (env:NAME)', async () => {
    const env = { CLUSTER_KUBECONFIG: kubeconfig({ server: 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true }, { 'client-certificate-data': b64('C'), 'client-key-data': b64('K'), token: 'also' }) };
    const upstream = await loadKubeUpstream('dev', 'env:CLUSTER_KUBECONFIG', env);
    expect(upstream).toMatchObject({ server: 'https://127.0.0.1:6443', clientCert: Buffer.from('C'), clientKey: Buffer.from('K'), token: 'also', insecureSkipTlsVerify: true });
    expect(upstreamTlsOptions(upstream).rejectUnauthorized).toBe(false);
  });

  const token = { token: 't' };
  const https = { server: 'https://h:6443' };
  it.each([
    ['a missing file', () => 'file:/nonexistent/kubeconfig', /target t: kubeconfig secret file:\/nonexistent\/kubeconfig: cannot read the file \(ENOENT\)/],
    ['an unset variable', () => 'env:NOT_SET_ANYWHERE', /environment variable NOT_SET_ANYWHERE is not set/],
    ['YAML that is not a kubeconfig', () => `file:${file('bad.yaml', 'clusters: [unterminated')}`, /is not a valid kubeconfig/],
    ['no current-context', () => `file:${file('nocur.yaml', kubeconfig(https, token, { 'current-context': '' }))}`, /has no current-context/],
    ['an undefined current-context', () => `file:${file('undef.yaml', kubeconfig(https, token, { 'current-context': 'other' }))}`, /current-context "other" is not defined/],
    ['plain http', () => `file:${file('http.yaml', kubeconfig({ server: 'http://h:8080' }, token))}`, /server must be an https:\/\/ URL/],
    ['an exec plugin', () => `file:${file('exec.yaml', kubeconfig(https, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } }))}`, /exec credential plugin/],
    ['no credentials', () => `file:${file('nocred.yaml', kubeconfig(https, {}))}`, /has no credentials/],
    ['a certificate without its key', () => `file:${file('half.yaml', kubeconfig(https, { 'client-certificate-data': b64('C') }))}`, /both a client certificate and its key/],
    ['an unreadable CA file', () => `file:${file('noca.yaml', kubeconfig({ ...https, 'certificate-authority': '/nonexistent/ca.crt' }, token))}`, /cannot read the certificate-authority file \/nonexistent\/ca.crt \(ENOENT\)/],
    ['its own impersonation', () => `file:${file('as.yaml', kubeconfig(https, { token: 't', as: 'root' }))}`, /impersonates on its own/],
  ])('refuses %s with a clear message', async (_name, ref, message) => {
    const error = await loadKubeUpstream('t', ref(), {}).catch((err: Error) => err);
    expect(error).toMatchObject({ code: 'upstream_config', layer: 'proxy' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('secret-token');
  });
});
