/**
 * The bare HTTPS reverse proxy as its own process, the baseline of `npm run bench:kube`.
 * Usage: tsx bench/kube-baseline/main.ts UPSTREAM_URL UPSTREAM_CA_FILE
 * Prints {url, caPem} as one JSON line (its serving certificate is made at start).
 */
import { readFileSync } from 'node:fs';
import { makeCertificateAuthority } from '../../test/helpers/kube-apiserver/certs.js';
import { startReverseProxy } from './reverse-proxy.js';

const [upstreamUrl, upstreamCaFile] = process.argv.slice(2) as [string, string];
const ca = await makeCertificateAuthority('kube-baseline-ca');
const serving = await ca.issue({ commonName: 'kube-baseline', serverNames: ['localhost'], ips: ['127.0.0.1'] });
const proxy = await startReverseProxy({ upstream: new URL(upstreamUrl), upstreamCa: readFileSync(upstreamCaFile), cert: serving.certPem, key: serving.keyPem });
process.stdout.write(JSON.stringify({ url: proxy.url, caPem: ca.certPem }) + '\n');
const stop = () => void proxy.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
