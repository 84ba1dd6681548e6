import { ProxyError } from '../errors.js';

/**
 * What a Kubernetes API request asks for, derived from its method, path and query the way
 * kube-apiserver's RequestInfoFactory does (k8s.io/apiserver/pkg/endpoints/request), so the
 * gateway authorizes and audits the same verb, resource and namespace the upstream will.
 *
 * One deliberate difference: the pod subresources that open a stream (exec, attach,
 * portforward) are `create` whatever the HTTP method. The WebSocket upgrade arrives as a GET,
 * which the upstream factory calls `get`; kube-apiserver ≥ 1.30 additionally demands
 * `create` for them (AuthorizePodWebsocketUpgradeCreatePermission), and a read-only role
 * must never get a shell.
 */
export interface KubeRequestInfo {
  /** False for /version, /api, /apis, /openapi/…, /healthz … (then only `verb` and `path` mean anything). */
  isResourceRequest: boolean;
  path: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection, proxy; for non-resource requests the lower-case HTTP method. */
  verb: string;
  /** `api` (the core group) or `apis`. */
  apiPrefix: string;
  /** '' for the core group. */
  apiGroup: string;
  apiVersion: string;
  /** '' for cluster-scoped requests and requests across all namespaces. */
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The path segments from the resource on (resource, name, subresource, anything after). */
  parts: string[];
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);
/** Verbs given as the first path segment after the version: /api/v1/watch/pods, /api/v1/proxy/… */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** Special verbs after which the path holds no subresource (the rest is the proxied path). */
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
/** Segments after /namespaces/{name} that are subresources of the namespace itself. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** Subresources that open a stream into a pod: authorized as `create` whatever the method. */
export const STREAMING_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/**
 * `target` is the request target as it reaches the API server, raw: a path with an optional
 * query string (`/api/v1/namespaces/default/pods?watch=true`). The path is percent-decoded
 * before it is split, as Go's `URL.Path` is (`pods%2Fweb/exec` is `pods/web/exec` upstream).
 * A path the upstream could read differently from this function — a bad escape, a `.` or
 * `..` segment, an empty segment inside it — throws ProxyError('bad_request'): forward the
 * target unchanged, or refuse it, never a rewritten one.
 */
export function kubeRequestInfo(method: string, target: string): KubeRequestInfo {
  const queryAt = target.indexOf('?');
  const path = decodePath(queryAt < 0 ? target : target.slice(0, queryAt));
  const query = goQuery(queryAt < 0 ? '' : target.slice(queryAt + 1));
  const info: KubeRequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };

  let parts = splitPath(path);
  // Too short to name a resource, or not under an API prefix: a non-resource URL.
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  const apiPrefix = parts[0]!;
  parts = parts.slice(1);
  let apiGroup = '';
  if (!GROUPLESS_API_PREFIXES.has(apiPrefix)) {
    if (parts.length < 3) return info;
    apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiPrefix = apiPrefix;
  info.apiGroup = apiGroup;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);

  if (SPECIAL_VERBS.has(parts[0]!)) {
    // The upstream answers "unable to determine kind and namespace from url" here.
    if (parts.length < 2) return { ...info, isResourceRequest: false, verb: method.toLowerCase() };
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    info.verb = METHOD_VERBS[method.toUpperCase()] ?? '';
  }

  if (parts[0] === 'namespaces') {
    // Server-side apply creates a namespace with PATCH /namespaces/{name}: that request
    // is not inside the namespace it creates.
    if (parts.length === 2 && info.verb === 'patch') {
      // namespace stays ''
    } else if (parts.length > 1) {
      info.namespace = parts[1]!;
      // /namespaces/{ns}/{resource}/…: the namespace scopes a resource of its own,
      // unless the next segment is a subresource of the namespace object itself.
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  info.parts = parts;

  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;

  // No name and a GET: a list, or a watch when asked for one in the query.
  if (info.name === '' && info.verb === 'get') {
    info.verb = watchRequested(query) ? 'watch' : 'list';
    const selected = exactFieldMatch(query.get('fieldSelector'), 'metadata.name');
    if (selected !== undefined && isValidPathSegmentName(selected)) info.name = selected;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  if (STREAMING_SUBRESOURCES.has(info.subresource) && info.name !== '') info.verb = 'create';
  return info;
}

function decodePath(raw: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new ProxyError('bad_request', `the request path has an invalid escape: ${raw.slice(0, 200)}`);
  }
  const inner = path.replace(/^\/+|\/+$/g, '');
  if (inner !== '' && inner.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ProxyError('bad_request', `the request path has an empty, "." or ".." segment: ${raw.slice(0, 200)}`);
  }
  return path;
}

/** Go's url.ParseQuery: a pair holding ';' is dropped (Go ≥ 1.17), the first value of a key counts. */
function goQuery(raw: string): URLSearchParams {
  if (!raw.includes(';')) return new URLSearchParams(raw);
  const query = new URLSearchParams();
  for (const pair of raw.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    for (const [key, value] of new URLSearchParams(pair)) query.append(key, value);
  }
  return query;
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** ListOptions' bool conversion: absent, '', '0' and 'false' (any case) are false; anything else true. */
function watchRequested(query: URLSearchParams): boolean {
  const value = query.get('watch');
  if (value === null) return false;
  return !(value === '' || value === '0' || value.toLowerCase() === 'false');
}

/**
 * The value a field selector requires `field` to equal exactly (`field=v` or `field==v`
 * among comma-separated terms), or undefined when it does not, or when the selector does
 * not parse (the upstream then ignores the selector for naming the request).
 */
export function exactFieldMatch(selector: string | null, field: string): string | undefined {
  if (!selector) return undefined;
  const terms = splitUnescaped(selector, ',');
  let found: string | undefined;
  for (const term of terms) {
    const parsed = parseFieldTerm(term);
    if (!parsed) return undefined;
    if (parsed.field === field && parsed.operator !== '!=') found = parsed.value;
  }
  return found;
}

function parseFieldTerm(term: string): { field: string; operator: string; value: string } | undefined {
  for (const operator of ['!=', '==', '=']) {
    const at = indexOfUnescaped(term, operator);
    if (at < 0) continue;
    return { field: term.slice(0, at), operator, value: unescapeFieldValue(term.slice(at + operator.length)) };
  }
  return undefined;
}

function indexOfUnescaped(text: string, needle: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text.startsWith(needle, i)) return i;
  }
  return -1;
}

function splitUnescaped(text: string, separator: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === separator) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** apimachinery's path.IsValidPathSegmentName: usable as one path segment. */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}
