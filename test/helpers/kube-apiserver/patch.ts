import YAML from 'yaml';
import { ApiError, badRequest } from './status.js';

type Json = unknown;
type JsonObject = Record<string, unknown>;

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return PATCH_TYPES.find((type) => type === base);
}

export function parsePatchBody(type: PatchType, body: string): Json {
  try {
    return type === 'application/apply-patch+yaml' ? YAML.parse(body) : JSON.parse(body);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

/** Applies a patch of one of the four types kube-apiserver accepts. */
export function applyPatch(type: PatchType, target: JsonObject, patch: Json): JsonObject {
  switch (type) {
    case 'application/json-patch+json':
      return jsonPatch(target, patch);
    case 'application/merge-patch+json':
      return mergePatch(target, patch) as JsonObject;
    case 'application/strategic-merge-patch+json':
    case 'application/apply-patch+yaml':
      // Server-side apply is approximated as a strategic merge of the applied intent.
      return strategicMerge(target, patch, []) as JsonObject;
  }
}

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Merge keys of the lists the built-in types merge by key instead of replacing
 * (patchMergeKey in their Go struct tags), keyed by field name.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  env: 'name',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  tolerations: 'key',
};
/** Service ports merge by port, container ports by containerPort. */
function mergeKeyFor(field: string, path: string[]): string | undefined {
  if (field === 'ports' && path.at(-1) === 'spec') return 'port';
  return MERGE_KEYS[field];
}

/**
 * A strategic merge patch as kubectl's client-side apply sends it: maps merge, null deletes,
 * lists with a merge key merge by it (honouring `$patch: delete` entries and
 * `$deleteFromPrimitiveList/…`), other lists replace; `$setElementOrder/…` and
 * `$retainKeys` directives are understood and dropped.
 */
export function strategicMerge(target: Json, patch: Json, path: string[]): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys' || key === '$patch' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((value as Json[]).map((v) => JSON.stringify(v)));
      if (Array.isArray(result[field])) result[field] = (result[field] as Json[]).filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const mergeKey = mergeKeyFor(key, path);
    if (Array.isArray(value) && mergeKey && Array.isArray(result[key])) {
      result[key] = mergeList(result[key] as Json[], value, mergeKey, [...path, key]);
    } else if (Array.isArray(value)) {
      result[key] = value.filter((entry) => !(isObject(entry) && entry.$patch === 'delete')).map((entry) => strategicMerge(undefined, entry, [...path, key]));
    } else {
      result[key] = strategicMerge(result[key], value, [...path, key]);
    }
  }
  if (retain) for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  return result;
}

function mergeList(current: Json[], patch: Json[], mergeKey: string, path: string[]): Json[] {
  const result = [...current];
  for (const entry of patch) {
    if (!isObject(entry)) continue;
    const at = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === entry[mergeKey]);
    if (entry.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = strategicMerge(result[at], entry, path);
    } else {
      result.push(strategicMerge(undefined, entry, path));
    }
  }
  return result;
}

/** RFC 6902. */
export function jsonPatch(target: JsonObject, operations: Json): JsonObject {
  if (!Array.isArray(operations)) throw badRequest('a json patch must be a list of operations');
  let document: Json = structuredClone(target);
  for (const operation of operations as Array<{ op?: string; path?: string; value?: Json; from?: string }>) {
    const path = pointer(operation.path);
    switch (operation.op) {
      case 'add':
        document = put(document, path, structuredClone(operation.value), 'add');
        break;
      case 'replace':
        document = put(document, path, structuredClone(operation.value), 'replace');
        break;
      case 'remove':
        document = remove(document, path);
        break;
      case 'test':
        if (JSON.stringify(read(document, path)) !== JSON.stringify(operation.value)) throw new ApiError(422, 'Invalid', `the json patch test of ${String(operation.path)} failed`);
        break;
      case 'copy':
        document = put(document, path, structuredClone(read(document, pointer(operation.from))), 'add');
        break;
      case 'move': {
        const from = pointer(operation.from);
        const value = read(document, from);
        document = put(remove(document, from), path, value, 'add');
        break;
      }
      default:
        throw badRequest(`unknown json patch operation ${String(operation.op)}`);
    }
  }
  return document as JsonObject;
}

function pointer(path: string | undefined): string[] {
  if (path === undefined || (path !== '' && !path.startsWith('/'))) throw badRequest(`invalid json pointer ${String(path)}`);
  return path === '' ? [] : path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function read(document: Json, path: string[]): Json {
  let node = document;
  for (const part of path) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else throw badRequest(`path /${path.join('/')} does not exist`);
  }
  return node;
}

function put(document: Json, path: string[], value: Json, mode: 'add' | 'replace'): Json {
  if (path.length === 0) return value;
  const parent = read(document, path.slice(0, -1));
  const last = path.at(-1)!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) {
    if (mode === 'replace' && !(last in parent)) throw badRequest(`replace of missing path /${path.join('/')}`);
    parent[last] = value;
  } else {
    throw badRequest(`path /${path.join('/')} does not exist`);
  }
  return document;
}

function remove(document: Json, path: string[]): Json {
  const parent = read(document, path.slice(0, -1));
  const last = path.at(-1)!;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObject(parent) && last in parent) delete parent[last];
  else throw badRequest(`remove of missing path /${path.join('/')}`);
  return document;
}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
