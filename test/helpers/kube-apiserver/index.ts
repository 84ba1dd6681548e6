import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import YAML from 'yaml';
import { negotiateChannelProtocol } from '../../../src/proxy/kubernetes/channel-protocol.js';
import { kubeRequestInfo, type KubeRequestInfo } from '../../../src/proxy/kubernetes/request-info.js';
import { makeTempDir } from '../temp-dir.js';
import { makeCertificateAuthority, type KeyPairPem } from './certs.js';
import { aggregatedDiscovery, AGGREGATED_DISCOVERY_V2, apiGroupList, apiResourceList, apiVersions, VERSION_INFO, wantsAggregatedDiscovery } from './discovery.js';
import { runExec, type ExecRecord } from './exec.js';
import { containerOf, handleLogs, PodLogs } from './logs.js';
import { ObjectStore } from './object-store.js';
import { openApiV3ForPath, openApiV3Root } from './openapi.js';
import { PORT_FORWARD_TUNNEL_PROTOCOL, runPortForward, type PortForwardRecord } from './portforward.js';
import { handleResource } from './rest.js';
import { findResourceType, type KubeObject } from './resources.js';
import { ApiError, badRequest, sendJson, sendStatus, statusObject } from './status.js';

export type { KubeObject } from './resources.js';
export type { ExecRecord } from './exec.js';

const TUNNEL_ALIAS = 'custos-test-spdy-tunnel';

export interface KubeUser {
  name: string;
  groups: string[];
}

/** One request as the server received it, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  headers: IncomingHttpHeaders;
  /** Who the credentials proved (bearer token or client certificate); undefined when refused with 401. */
  authenticatedUser?: KubeUser;
  /** Impersonate-User / Impersonate-Group as sent. */
  impersonateUser?: string;
  impersonateGroups: string[];
  /** The user the request acts as (the impersonated one when allowed). */
  user?: KubeUser;
  info: KubeRequestInfo;
  /** The WebSocket subprotocol agreed for an upgrade. */
  websocketProtocol?: string;
  status?: number;
}

export interface KubeApiServerOptions {
  /** Bearer tokens and the users they prove; an admin token is always added. */
  tokens?: Record<string, KubeUser>;
  /** Users allowed to impersonate (Impersonate-User / -Group); default: every authenticated user. */
  impersonators?: string[];
  /** Authorization: return false to answer 403 Forbidden. Default: allow. */
  authorize?: (user: KubeUser, info: KubeRequestInfo) => boolean;
  /** Working directory of exec'd processes (default: the server's temp dir). */
  execCwd?: string;
  /** Where a forwarded pod port connects (default 127.0.0.1:<port>). */
  portForwardTarget?: (namespace: string, pod: string, port: number) => { host: string; port: number };
}

export interface KubeApiServer {
  url: string;
  port: number;
  /** The cluster CA (PEM) and its file, for kubeconfigs. */
  caPem: string;
  caFile: string;
  /** Bearer token of `admin` (groups system:masters, system:authenticated). */
  adminToken: string;
  requests: RecordedRequest[];
  execs: ExecRecord[];
  portForwards: PortForwardRecord[];
  store: ObjectStore;
  logs: PodLogs;
  /** A client certificate for `name` in `groups`, signed by the cluster CA. */
  issueClientCertificate(name: string, groups?: string[]): Promise<KeyPairPem>;
  /**
   * Writes a kubeconfig (context `test`, namespace default) for a token or a client
   * certificate; returns its path. `cluster` points it elsewhere (a proxy in front).
   */
  writeKubeconfig(credentials: { token: string } | { certificate: KeyPairPem }, file?: string, cluster?: { server: string; caPem: string }): string;
  /** Creates an object as a controller would (no request recorded). */
  create(apiVersion: string, resource: string, object: KubeObject): KubeObject;
  close(): Promise<void>;
}

/**
 * A faithful stand-in for kube-apiserver (no real one can be installed here) that real
 * kubectl and @kubernetes/client-node accept unchanged. See README "Kubernetes (in progress)".
 */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const dir = makeTempDir('kapi-');
  const ca = await makeCertificateAuthority();
  const serving = await ca.issue({ commonName: 'kube-apiserver', serverNames: ['localhost', 'kubernetes', 'kubernetes.default'], ips: ['127.0.0.1'] });
  const caFile = join(dir.path, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const tokens = new Map<string, KubeUser>(Object.entries({ ...options.tokens, [adminToken]: { name: 'admin', groups: ['system:masters'] } }));
  const store = new ObjectStore();
  const logs = new PodLogs();
  const requests: RecordedRequest[] = [];
  const execs: ExecRecord[] = [];
  const portForwards: PortForwardRecord[] = [];
  const streams = new Set<ServerResponse>();
  const upgrades = new WeakMap<IncomingMessage, RecordedRequest>();
  const namespaces = findResourceType('', 'v1', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public']) store.create(namespaces, '', { metadata: { name } });

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(TUNNEL_ALIAS) ? PORT_FORWARD_TUNNEL_PROTOCOL : (negotiateChannelProtocol(offered) ?? false)),
  });

  function authenticate(req: IncomingMessage): KubeUser | undefined {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      const user = tokens.get(header.slice(7).trim());
      return user ? { name: user.name, groups: [...user.groups, 'system:authenticated'] } : undefined;
    }
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate().subject as unknown as { CN?: string; O?: string | string[] } | undefined;
      if (subject?.CN) return { name: subject.CN, groups: [...[subject.O ?? []].flat(), 'system:authenticated'] };
    }
    return undefined;
  }

  /** Records the request (the status too, once its head is written), authenticates and authorizes it; throws ApiError to refuse. */
  function admit(req: IncomingMessage, res?: ServerResponse): RecordedRequest {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const impersonateGroups = [req.headers['impersonate-group'] ?? []].flat().flatMap((value) => value.split(',').map((group) => group.trim()));
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: queryAt < 0 ? url : url.slice(0, queryAt),
      query: queryAt < 0 ? '' : url.slice(queryAt + 1),
      headers: { ...req.headers },
      impersonateUser: req.headers['impersonate-user'] as string | undefined,
      impersonateGroups,
      info: { isResourceRequest: false, path: '', verb: '', apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [] },
    };
    requests.push(record);
    if (res) {
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        record.status = args[0] as number;
        return writeHead(...args);
      }) as typeof res.writeHead;
    } else {
      upgrades.set(req, record);
    }
    try {
      record.info = kubeRequestInfo(req.method ?? 'GET', url);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const user = authenticate(req);
    if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    record.authenticatedUser = user;
    record.user = user;
    if (record.impersonateUser !== undefined || impersonateGroups.length > 0) {
      if (options.impersonators && !options.impersonators.includes(user.name)) {
        throw new ApiError(403, 'Forbidden', `users "${record.impersonateUser ?? ''}" is forbidden: User "${user.name}" cannot impersonate resource "users" in API group "" at the cluster scope`);
      }
      if (!record.impersonateUser) throw new ApiError(500, 'InternalError', 'Internal error occurred: requested [impersonate groups] without impersonating a user');
      record.user = { name: record.impersonateUser, groups: [...impersonateGroups, 'system:authenticated'] };
    }
    if (options.authorize && !options.authorize(record.user, record.info)) {
      const { info } = record;
      const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
      const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
      throw new ApiError(
        403,
        'Forbidden',
        info.isResourceRequest
          ? `${resource}${info.name ? ` "${info.name}"` : ''} is forbidden: User "${record.user.name}" cannot ${info.verb} resource "${resource}" in API group "${info.apiGroup}" ${scope}`
          : `forbidden: User "${record.user.name}" cannot ${info.verb} path "${info.path}"`,
        { name: info.name, group: info.apiGroup, kind: info.resource },
      );
    }
    return record;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const record = admit(req, res);
      const { info } = record;
      const query = new URLSearchParams(record.query);
      if (!info.isResourceRequest) return serveNonResource(req, res, info.path);
      const type = findResourceType(info.apiGroup, info.apiVersion, info.resource);
      if (!type) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (info.subresource === 'log' && type.resource === 'pods') return handleLogs(store, logs, info, req, res, query, streams);
      if (['exec', 'attach', 'portforward'].includes(info.subresource)) throw badRequest('Upgrade request required');
      if (info.subresource !== '' && info.subresource !== 'status') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      await handleResource(store, type, info, req, res, query, streams);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      sendStatus(res, err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  }

  function serveNonResource(req: IncomingMessage, res: ServerResponse, path: string): void {
    const trimmed = path.replace(/\/+$/, '') || '/';
    const aggregated = wantsAggregatedDiscovery(req.headers.accept);
    if (trimmed === '/version') return sendJson(res, 200, VERSION_INFO);
    if (trimmed === '/api') return aggregated ? sendJson(res, 200, aggregatedDiscovery(true), AGGREGATED_DISCOVERY_V2) : sendJson(res, 200, apiVersions(`127.0.0.1:${port}`));
    if (trimmed === '/apis') return aggregated ? sendJson(res, 200, aggregatedDiscovery(false), AGGREGATED_DISCOVERY_V2) : sendJson(res, 200, apiGroupList());
    if (trimmed === '/openapi/v3') return sendJson(res, 200, openApiV3Root());
    if (trimmed.startsWith('/openapi/v3/')) {
      const document = openApiV3ForPath(trimmed.slice('/openapi/v3/'.length));
      if (document) return sendJson(res, 200, document);
    }
    if (['/healthz', '/livez', '/readyz'].includes(trimmed)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('ok');
    }
    const groupVersion = /^\/api\/([^/]+)$/.exec(trimmed) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(trimmed);
    if (groupVersion) {
      const [group, version] = groupVersion[1]!.includes('/') ? groupVersion[1]!.split('/') : ['', groupVersion[1]!];
      const list = apiResourceList(group!, version!);
      if (list) return sendJson(res, 200, list);
    }
    const group = /^\/apis\/([^/]+)$/.exec(trimmed);
    if (group) {
      const entry = (apiGroupList().groups as Array<{ name: string }>).find((candidate) => candidate.name === group[1]);
      if (entry) return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...entry });
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('404 page not found\n');
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      const record = admit(req);
      const { info } = record;
      const query = new URLSearchParams(record.query);
      const pods = findResourceType('', 'v1', 'pods')!;
      if (!info.isResourceRequest || info.resource !== 'pods' || !['exec', 'attach', 'portforward'].includes(info.subresource)) {
        throw new ApiError(400, 'BadRequest', `${info.path} does not upgrade to a stream`);
      }
      const pod = store.get(pods, info.namespace, info.name);
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((value) => value.trim());
      if (info.subresource === 'portforward' ? !offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL) : !negotiateChannelProtocol(offered)) {
        throw new ApiError(400, 'BadRequest', `none of the offered subprotocols [${offered.join(', ')}] is supported`);
      }
      const current = record;
      // ws refuses a '/' in a subprotocol (not an RFC 7230 token character) while Go's
      // gorilla/websocket, on both ends of real kubectl port-forward, uses one: offer ws a
      // token-safe alias; the answer still names the real protocol.
      if (info.subresource === 'portforward') req.headers['sec-websocket-protocol'] = TUNNEL_ALIAS;
      wss.handleUpgrade(req, socket, head, (ws) => {
        current.websocketProtocol = ws.protocol;
        current.status = 101;
        ws.on('error', () => ws.terminate());
        if (info.subresource === 'portforward') {
          const forwarded: PortForwardRecord = { requests: [] };
          portForwards.push(forwarded);
          const dial = (port: number) => options.portForwardTarget?.(info.namespace, info.name, port) ?? { host: '127.0.0.1', port };
          return runPortForward(ws, dial, forwarded);
        }
        const container = containerOf(pod, query.get('container'));
        const spec = ((pod.spec as { containers?: Array<{ name: string; command?: string[]; args?: string[] }> }).containers ?? []).find((c) => c.name === container);
        const attach = info.subresource === 'attach';
        const command = attach ? [...(spec?.command ?? ['sh']), ...(spec?.args ?? [])] : query.getAll('command');
        const exec: ExecRecord = {
          command,
          stdin: query.get('stdin') === 'true',
          stdout: query.get('stdout') === 'true',
          stderr: query.get('stderr') === 'true',
          tty: query.get('tty') === 'true',
          hostname: info.name,
          cwd: options.execCwd ?? dir.path,
          protocol: ws.protocol as ExecRecord['protocol'],
          resizes: [],
          stdinClosed: false,
        };
        execs.push(exec);
        runExec(ws, exec.protocol, exec, exec);
      });
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
      const record = upgrades.get(req);
      if (record) record.status = error.code;
      const body = JSON.stringify(statusObject(error.code, error.reason, error.message, error.details));
      socket.end(`HTTP/1.1 ${error.code} ${error.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  }

  const server: Server = createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    (req, res) => void handle(req, res),
  );
  server.on('upgrade', upgrade);
  const sockets = new Set<Duplex>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;

  return {
    url,
    port,
    caPem: ca.certPem,
    caFile,
    adminToken,
    requests,
    execs,
    portForwards,
    store,
    logs,
    issueClientCertificate: (name, groups = []) => ca.issue({ commonName: name, organizations: groups }),
    writeKubeconfig(credentials, file = join(dir.path, `kubeconfig-${randomBytes(4).toString('hex')}`), cluster = { server: url, caPem: ca.certPem }) {
      const user =
        'token' in credentials
          ? { token: credentials.token }
          : {
              'client-certificate-data': Buffer.from(credentials.certificate.certPem).toString('base64'),
              'client-key-data': Buffer.from(credentials.certificate.keyPem).toString('base64'),
            };
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: cluster.server, 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') } }],
        users: [{ name: 'test', user }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace: 'default' } }],
        'current-context': 'test',
        preferences: {},
      };
      writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
      return file;
    },
    create(apiVersion, resource, object) {
      const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
      const type = findResourceType(group!, version!, resource);
      if (!type) throw new Error(`the test API server does not serve ${apiVersion} ${resource}`);
      return store.create(type, object.metadata.namespace ?? '', object);
    },
    async close() {
      for (const res of streams) res.destroy();
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dir.remove();
    },
  };
}
