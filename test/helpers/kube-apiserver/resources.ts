/** The resource types this test API server serves, with what discovery and tables say of them. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
};

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  description: string;
  priority: number;
  cell(object: KubeObject, now: number): string | number;
}

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the path. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources with the kind they answer and their verbs. */
  subresources: Array<{ name: string; kind: string; verbs: string[] }>;
  columns: TableColumn[];
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (object) => object.metadata.name ?? '',
};
const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (object, now) => shortHumanDuration(now - Date.parse(object.metadata.creationTimestamp ?? new Date(now).toISOString())),
};

function column(name: string, priority: number, cell: TableColumn['cell'], type: TableColumn['type'] = 'string'): TableColumn {
  return { name, type, description: name, priority, cell };
}

type Any = Record<string, unknown>;
const spec = (object: KubeObject): Any => (object.spec ?? {}) as Any;
const status = (object: KubeObject): Any => (object.status ?? {}) as Any;
const containers = (object: KubeObject): Any[] => (((spec(object).template as Any | undefined)?.spec as Any | undefined)?.containers ?? spec(object).containers ?? []) as Any[];

export const RESOURCE_TYPES: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    categories: [],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [{ name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] }],
    columns: [nameColumn, column('Status', 0, (o) => String(status(o).phase ?? 'Active')), ageColumn],
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    verbs: CRUD,
    subresources: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    ],
    columns: [
      nameColumn,
      column('Ready', 0, (o) => {
        const statuses = (status(o).containerStatuses ?? []) as Any[];
        return `${statuses.filter((s) => s.ready).length}/${containers(o).length}`;
      }),
      column('Status', 0, (o) => String(status(o).phase ?? 'Pending')),
      column('Restarts', 0, (o) => ((status(o).containerStatuses ?? []) as Any[]).reduce((sum, s) => sum + Number(s.restartCount ?? 0), 0), 'integer'),
      ageColumn,
      column('IP', 1, (o) => String(status(o).podIP ?? '<none>')),
      column('Node', 1, (o) => String(spec(o).nodeName ?? '<none>')),
    ],
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    categories: [],
    verbs: CRUD,
    subresources: [],
    columns: [nameColumn, column('Data', 0, (o) => Object.keys((o.data ?? {}) as Any).length + Object.keys((o.binaryData ?? {}) as Any).length, 'integer'), ageColumn],
  },
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: CRUD,
    subresources: [],
    columns: [nameColumn, column('Type', 0, (o) => String(o.type ?? 'Opaque')), column('Data', 0, (o) => Object.keys((o.data ?? {}) as Any).length, 'integer'), ageColumn],
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    verbs: CRUD,
    subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }],
    columns: [
      nameColumn,
      column('Type', 0, (o) => String(spec(o).type ?? 'ClusterIP')),
      column('Cluster-IP', 0, (o) => String(spec(o).clusterIP ?? '<none>')),
      column('External-IP', 0, () => '<none>'),
      column('Port(s)', 0, (o) => ((spec(o).ports ?? []) as Any[]).map((p) => `${String(p.port)}/${String(p.protocol ?? 'TCP')}`).join(',') || '<none>'),
      ageColumn,
    ],
  },
  {
    group: '',
    version: 'v1',
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    categories: [],
    verbs: CRUD,
    subresources: [],
    columns: [column('Last Seen', 0, (o) => String(o.lastTimestamp ?? '')), column('Type', 0, (o) => String(o.type ?? '')), column('Reason', 0, (o) => String(o.reason ?? '')), column('Message', 0, (o) => String(o.message ?? ''))],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    verbs: CRUD,
    subresources: [
      { name: 'scale', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
      { name: 'status', kind: 'Deployment', verbs: ['get', 'patch', 'update'] },
    ],
    columns: [
      nameColumn,
      column('Ready', 0, (o) => `${Number(status(o).readyReplicas ?? 0)}/${Number(spec(o).replicas ?? 1)}`),
      column('Up-to-date', 0, (o) => Number(status(o).updatedReplicas ?? 0), 'integer'),
      column('Available', 0, (o) => Number(status(o).availableReplicas ?? 0), 'integer'),
      ageColumn,
      column('Containers', 1, (o) => containers(o).map((c) => String(c.name)).join(',')),
      column('Images', 1, (o) => containers(o).map((c) => String(c.image)).join(',')),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    verbs: CRUD,
    subresources: [],
    columns: [nameColumn, column('Desired', 0, (o) => Number(spec(o).replicas ?? 1), 'integer'), column('Current', 0, (o) => Number(status(o).replicas ?? 0), 'integer'), ageColumn],
  },
];

export const GROUP_VERSIONS: Array<{ group: string; version: string }> = [
  { group: '', version: 'v1' },
  { group: 'apps', version: 'v1' },
];

export function findResourceType(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => type.group === group && type.version === version && type.resource === resource);
}

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** kube's duration.HumanDuration short form: 5s, 3m, 2m30s, 4h, 2d … */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}
