/**
 * The test Kubernetes API server as a process of its own, for `npm run bench:kube`: serves
 * a namespace with one small ConfigMap and one pod, prints {url, caPem, token} as one JSON
 * line, and runs until killed. Usage: tsx bench/kube-upstream.ts
 */
import { startKubeApiServer } from '../test/helpers/kube-apiserver/index.js';

const server = await startKubeApiServer();
server.create('v1', 'configmaps', { metadata: { name: 'small', namespace: 'default' }, data: { key: 'value' } });
server.create('v1', 'pods', { metadata: { name: 'bench', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
// A benchmark sends many requests; the test server's request log would only grow.
setInterval(() => server.requests.splice(0), 1000).unref();
process.stdout.write(JSON.stringify({ url: server.url, caPem: server.caPem, token: server.adminToken }) + '\n');
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
