import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeRequestInfo } from '../../../src/proxy/kubernetes/request-info.js';
import type { ObjectStore, WatchEvent } from './object-store.js';
import { typeKey } from './object-store.js';
import { applyPatch, parsePatchBody, patchTypeOf } from './patch.js';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.js';
import { fieldSelectorMatcher, labelSelectorMatcher } from './selectors.js';
import { ApiError, badRequest, notFound, sendJson } from './status.js';
import { includeObjectOf, TABLE_CONTENT_TYPE, toTable, wantsTable } from './table.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** CRUD, list and watch of one resource type (the object itself and its status subresource). */
export async function handleResource(
  store: ObjectStore,
  type: ResourceType,
  info: KubeRequestInfo,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  streams: Set<ServerResponse>,
): Promise<void> {
  const { namespace, name } = info;
  const table = wantsTable(req.headers.accept);
  switch (info.verb) {
    case 'get': {
      const object = store.get(type, namespace, name);
      if (table) return sendJson(res, 200, toTable(type, [object], { includeObject: includeObjectOf(query) }), TABLE_CONTENT_TYPE);
      return sendJson(res, 200, object);
    }
    case 'list':
      return list(store, type, info, req, res, query, table);
    case 'watch':
      return watch(store, type, info, req, res, query, table, streams);
    case 'create': {
      const body = (await readJson(req)) as KubeObject;
      if (type.namespaced && namespace === '') throw badRequest('a namespaced resource needs a namespace in the request path');
      if (query.get('dryRun') === 'All') return sendJson(res, 201, { ...body, metadata: { ...body.metadata, namespace } });
      return sendJson(res, 201, store.create(type, namespace, body));
    }
    case 'update': {
      const body = (await readJson(req)) as KubeObject;
      const current = store.get(type, namespace, name);
      const next = info.subresource === 'status' ? { ...current, status: body.status, metadata: { ...current.metadata, resourceVersion: body.metadata?.resourceVersion ?? current.metadata.resourceVersion } } : body;
      return sendJson(res, 200, store.update(type, namespace, name, next));
    }
    case 'patch': {
      const patchType = patchTypeOf(req.headers['content-type']);
      if (!patchType) throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
      const patch = parsePatchBody(patchType, await readBody(req));
      const current = store.find(type, namespace, name);
      if (!current) {
        if (patchType !== 'application/apply-patch+yaml') throw notFound(type.resource, name, type.group);
        return sendJson(res, 201, store.create(type, namespace, { ...(patch as KubeObject), metadata: { ...(patch as KubeObject).metadata, name } }));
      }
      const patched = applyPatch(patchType, current, patch) as KubeObject;
      // A patch is applied to the current object; its own resourceVersion, when given, is a precondition.
      const precondition = (patch as KubeObject | undefined)?.metadata?.resourceVersion;
      patched.metadata = { ...patched.metadata, resourceVersion: precondition ?? current.metadata.resourceVersion };
      return sendJson(res, 200, store.update(type, namespace, name, patched));
    }
    case 'delete': {
      const deleted = store.delete(type, namespace, name);
      return sendJson(res, 200, deleted);
    }
    case 'deletecollection': {
      const matches = selected(store.list(type, namespace), query);
      for (const object of matches) store.delete(type, object.metadata.namespace ?? '', object.metadata.name!);
      return sendJson(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: store.resourceVersion }, items: matches });
    }
    default:
      throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported on ${type.resource}`);
  }
}

function selected(objects: KubeObject[], query: URLSearchParams): KubeObject[] {
  const labels = labelSelectorMatcher(query.get('labelSelector'));
  const fields = fieldSelectorMatcher(query.get('fieldSelector'));
  return objects.filter((object) => labels(object) && fields(object));
}

function list(store: ObjectStore, type: ResourceType, info: KubeRequestInfo, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, table: boolean): void {
  const all = selected(store.list(type, info.namespace), query);
  const resourceVersion = store.resourceVersion;
  // limit/continue: the continue token is the offset into the (name-ordered) result.
  const offset = query.get('continue') ? Number(Buffer.from(query.get('continue')!, 'base64url').toString()) : 0;
  const limit = Number(query.get('limit') ?? 0);
  const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
  const next = limit > 0 && offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : undefined;
  if (table) {
    return sendJson(res, 200, toTable(type, page, { resourceVersion, ...(next ? { continue: next } : {}), includeObject: includeObjectOf(query) }), TABLE_CONTENT_TYPE);
  }
  const items = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  sendJson(res, 200, {
    kind: `${type.kind}List`,
    apiVersion: apiVersionOf(type),
    metadata: { resourceVersion, ...(next ? { continue: next, remainingItemCount: all.length - offset - limit } : {}) },
    items,
  });
}

/**
 * A watch: newline-delimited JSON events on a chunked response. Without a resourceVersion
 * (or with "0") it starts with an ADDED event per existing object; with one, it replays the
 * changes after it. `timeoutSeconds` ends it.
 */
function watch(
  store: ObjectStore,
  type: ResourceType,
  info: KubeRequestInfo,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  table: boolean,
  streams: Set<ServerResponse>,
): void {
  const labels = labelSelectorMatcher(query.get('labelSelector'));
  const fields = fieldSelectorMatcher(query.get('fieldSelector'));
  const inScope = (object: KubeObject) => (!type.namespaced || info.namespace === '' || object.metadata.namespace === info.namespace) && labels(object) && fields(object);
  const includeObject = includeObjectOf(query);
  const render = (object: KubeObject, first: boolean) => (table ? toTable(type, [object], { includeObject, headers: first }) : object);

  res.writeHead(200, { 'Content-Type': table ? TABLE_CONTENT_TYPE : 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  streams.add(res);
  let first = true;
  const send = (eventType: string, object: KubeObject) => {
    res.write(JSON.stringify({ type: eventType, object: render(object, first) }) + '\n');
    first = false;
  };
  const requested = query.get('resourceVersion');
  if (!requested || requested === '0') {
    for (const object of store.list(type, info.namespace)) if (inScope(object)) send('ADDED', object);
  } else {
    const since = Number(requested);
    if (!Number.isInteger(since)) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `invalid resource version "${requested}"`, reason: 'BadRequest', code: 400 } }) + '\n');
      return;
    }
    for (const event of store.eventsSince(type, since)) if (inScope(event.object)) send(event.type, event.object);
  }
  if (query.get('allowWatchBookmarks') === 'true' && query.get('sendInitialEvents') === 'true') {
    res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } } }) + '\n');
  }
  const unsubscribe = store.subscribe((event: WatchEvent) => {
    if (event.typeKey === typeKey(type) && inScope(event.object)) send(event.type, event.object);
  });
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
  const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
  const stop = () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    streams.delete(res);
  };
  res.on('close', stop);
  req.on('close', stop);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not JSON: ${(err as Error).message}`);
  }
}
