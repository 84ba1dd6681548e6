import { createHash } from 'node:crypto';
import { GROUP_VERSIONS, RESOURCE_TYPES, type ResourceType } from './resources.js';

/**
 * OpenAPI v3 documents, only as much as kubectl reads from them: `kubectl apply` refuses to
 * run without OpenAPI ("failed to download openapi"), and looks in the group-version
 * document for a PATCH operation of the object's kind that takes `fieldValidation` (then
 * validation happens on the server). The strategic-merge content type is not listed, so
 * kubectl builds its strategic merge patch from its compiled-in types instead of from
 * schemas this server does not have.
 */
export function openApiV3Root(): Record<string, unknown> {
  return {
    paths: Object.fromEntries(
      GROUP_VERSIONS.map(({ group, version }) => {
        const path = groupVersionPath(group, version);
        return [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(openApiV3Document(group, version))}` }];
      }),
    ),
  };
}

/** The document for `api/v1` or `apis/<group>/<version>`, or undefined. */
export function openApiV3ForPath(path: string): Record<string, unknown> | undefined {
  const gv = GROUP_VERSIONS.find(({ group, version }) => groupVersionPath(group, version) === path);
  return gv ? openApiV3Document(gv.group, gv.version) : undefined;
}

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function hashOf(document: unknown): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').slice(0, 128).toUpperCase();
}

const queryParameter = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const body = (types: string[]) => ({ content: Object.fromEntries(types.map((type) => [type, { schema: { type: 'object' } }])), required: true });
const ok = { responses: { '200': { description: 'OK' } } };

function openApiV3Document(group: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const type of RESOURCE_TYPES.filter((t) => t.group === group && t.version === version)) {
    const prefix = `/${groupVersionPath(group, version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}`;
    const gvk = { 'x-kubernetes-group-version-kind': { group, version, kind: type.kind } };
    const op = (action: string, extra: Record<string, unknown> = {}) => ({ operationId: `${action}${type.kind}`, 'x-kubernetes-action': action, ...gvk, ...ok, ...extra });
    paths[prefix] = {
      get: op('list'),
      post: op('post', { parameters: ['dryRun', 'fieldManager', 'fieldValidation'].map(queryParameter), requestBody: body(['*/*']) }),
    };
    paths[`${prefix}/{name}`] = itemPath(type, op);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths, components: { schemas: {} } };
}

function itemPath(type: ResourceType, op: (action: string, extra?: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> {
  return {
    get: op('get'),
    put: op('put', { parameters: ['dryRun', 'fieldManager', 'fieldValidation'].map(queryParameter), requestBody: body(['*/*']) }),
    patch: op('patch', {
      parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map(queryParameter),
      requestBody: body(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']),
    }),
    delete: op('delete'),
    parameters: [{ name: 'name', in: 'path', required: true, description: `name of the ${type.kind}`, schema: { type: 'string', uniqueItems: true } }],
  };
}
