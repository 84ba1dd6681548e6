import { createHash, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import { ProxyError } from '../errors.js';

export interface GatewayTls {
  context: tls.SecureContext;
  /**
   * SCRAM channel binding data (`tls-server-end-point`, RFC 5929): the hash of the gateway's
   * certificate, with the certificate's own signature hash (SHA-256 for MD5 and SHA-1).
   */
  endPoint: Buffer;
}

/** Loads the gateway certificate and key (config.tls.cert / config.tls.key). */
export async function loadGatewayTls(files: { cert: string; key: string }): Promise<GatewayTls> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
  } catch (err) {
    throw new ProxyError('tls_unavailable', `cannot read the gateway TLS certificate or key: ${(err as Error).message}`);
  }
  const context = tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(cert.toString('utf8'))?.[0];
  if (!leafPem) throw new ProxyError('tls_unavailable', `${files.cert} holds no PEM certificate`);
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const leaf = new x509.X509Certificate(leafPem);
  const hashName = ((leaf.signatureAlgorithm as { hash?: { name?: string } }).hash?.name ?? 'SHA-256').toLowerCase().replace('-', '');
  const hash = hashName === 'md5' || hashName === 'sha1' ? 'sha256' : hashName;
  return { context, endPoint: createHash(hash).update(Buffer.from(leaf.rawData)).digest() };
}
