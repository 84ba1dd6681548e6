import { webcrypto, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as x509 from '@peculiar/x509';
import ssh2 from 'ssh2';

/**
 * Key material a fresh gateway makes for itself in its data directory: an SSH host key and,
 * unless TLS files are configured, a small CA with a server certificate signed by it (so
 * clients can verify the gateway with `sslrootcert=<dataDir>/tls/ca.crt`). Nothing here is
 * ever committed; `certs/` has the script for real deployments.
 */
/**
 * An ed25519 key pair in OpenSSH format that ssh2 reads back. ssh2's generator strips the
 * leading zero bytes of the public key, so about one pair in 256 (a public key starting
 * with 0x00) cannot be parsed again (mscdex/ssh2#1390, #1513): such a pair is drawn again.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

export async function ensureSshHostKey(path: string): Promise<{ created: boolean }> {
  if (existsSync(path)) return { created: false };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const pair = generateEd25519KeyPair('custos gateway host key');
  await writeFile(path, pair.private, { mode: 0o600 });
  await writeFile(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return { created: true };
}

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export async function ensureSelfSignedTls(files: TlsFiles, hostnames: string[]): Promise<{ created: boolean }> {
  if (existsSync(files.cert) && existsSync(files.key)) return { created: false };
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + TEN_YEARS_MS);

  const caKeys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Custos gateway CA ${randomBytes(4).toString('hex')}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const serverKeys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const names = [...new Set(['localhost', ...hostnames])];
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  await mkdir(dirname(files.cert), { recursive: true, mode: 0o700 });
  await writeFile(files.ca, ca.toString('pem') + '\n', { mode: 0o644 });
  await writeFile(files.cert, server.toString('pem') + '\n' + ca.toString('pem') + '\n', { mode: 0o644 });
  await writeFile(files.key, await privateKeyPem(crypto, serverKeys.privateKey), { mode: 0o600 });
  await chmod(files.key, 0o600);
  return { created: true };
}

async function privateKeyPem(crypto: typeof webcrypto, key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}
