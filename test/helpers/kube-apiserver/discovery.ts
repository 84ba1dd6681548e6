import { apiVersionOf, GROUP_VERSIONS, RESOURCE_TYPES, type ResourceType } from './resources.js';

/** What GET /version answers: a 1.32 server, like the kubectl installed here. */
export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4-custos-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Media type of aggregated discovery (kubectl ≥ 1.26 asks for it first on /api and /apis). */
export const AGGREGATED_DISCOVERY_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((entry) => {
    const params = entry.split(';').map((part) => part.trim());
    return params[0] === 'application/json' && params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(GROUP_VERSIONS.filter((gv) => gv.group !== '').map((gv) => gv.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((name) => {
      const versions = GROUP_VERSIONS.filter((gv) => gv.group === name).map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }));
      return { name, versions, preferredVersion: versions[0] };
    }),
  };
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((type) => type.group === group && type.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: types.flatMap((type) => [
      {
        name: type.resource,
        singularName: type.singular,
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: type.verbs,
        ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
        ...(type.categories.length ? { categories: type.categories } : {}),
        storageVersionHash: storageVersionHash(type),
      },
      ...type.subresources.map((sub) => ({ name: `${type.resource}/${sub.name}`, singularName: '', namespaced: type.namespaced, kind: sub.kind, verbs: sub.verbs })),
    ]),
  };
}

/** apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (core) or /apis (named groups). */
export function aggregatedDiscovery(core: boolean): Record<string, unknown> {
  const groups = [...new Set(GROUP_VERSIONS.filter((gv) => (gv.group === '') === core).map((gv) => gv.group))];
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
      versions: GROUP_VERSIONS.filter((gv) => gv.group === group).map((gv) => ({
        version: gv.version,
        resources: RESOURCE_TYPES.filter((type) => type.group === group && type.version === gv.version).map((type) => ({
          resource: type.resource,
          responseKind: { group, version: gv.version, kind: type.kind },
          scope: type.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: type.singular,
          verbs: type.verbs,
          ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
          ...(type.categories.length ? { categories: type.categories } : {}),
          ...(type.subresources.length
            ? { subresources: type.subresources.map((sub) => ({ subresource: sub.name, responseKind: { group, version: gv.version, kind: sub.kind }, verbs: sub.verbs })) }
            : {}),
        })),
        freshness: 'Current',
      })),
    })),
  };
}

function storageVersionHash(type: ResourceType): string {
  return Buffer.from(`${apiVersionOf(type)}/${type.kind}`).toString('base64').slice(0, 11);
}
