import { randomBytes, randomUUID } from 'node:crypto';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.js';
import { alreadyExists, ApiError, badRequest, conflict, notFound } from './status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
  resourceVersion: number;
  typeKey: string;
}

/**
 * The cluster's objects in memory, as etcd behind kube-apiserver keeps them: one global,
 * increasing resourceVersion, a uid per object, and the history of changes so a watch can
 * start from any resourceVersion it was given.
 */
export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<(event: WatchEvent) => void>();
  private revision = 1000;

  get resourceVersion(): string {
    return String(this.revision);
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const object = this.objects.get(key(type, namespace, name));
    if (!object) throw notFound(type.resource, name, type.group);
    return structuredClone(object);
  }

  find(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const object = this.objects.get(key(type, namespace, name));
    return object ? structuredClone(object) : undefined;
  }

  /** Objects of a type, in one namespace or all ('' for all or cluster-scoped), in name order. */
  list(type: ResourceType, namespace: string): KubeObject[] {
    const prefix = `${typeKey(type)}/${type.namespaced ? namespace : ''}`;
    return [...this.objects.entries()]
      .filter(([k]) => (namespace === '' || !type.namespaced ? k.startsWith(`${typeKey(type)}/`) : k.startsWith(`${prefix}/`)))
      .map(([, object]) => structuredClone(object))
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  create(type: ResourceType, namespace: string, input: KubeObject): KubeObject {
    const object = structuredClone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    object.metadata ??= {};
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = object.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
    const name = object.metadata.name;
    if (!name) throw new ApiError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      throw new ApiError(422, 'Invalid', `${type.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    if (type.namespaced) {
      if (object.metadata.namespace && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace;
      if (!this.objects.has(`/namespaces//${namespace}`)) throw notFound('namespaces', namespace);
    } else {
      delete object.metadata.namespace;
    }
    const k = key(type, namespace, name);
    if (this.objects.has(k)) throw alreadyExists(type.resource, name, type.group);
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    object.metadata.generation = 1;
    applyDefaults(type, object);
    return this.commit(type, k, object, 'ADDED');
  }

  /** Replaces an object; a resourceVersion in the new object must match the stored one. */
  update(type: ResourceType, namespace: string, name: string, input: KubeObject): KubeObject {
    const k = key(type, namespace, name);
    const current = this.objects.get(k);
    if (!current) throw notFound(type.resource, name, type.group);
    const object = structuredClone(input);
    object.metadata ??= {};
    if (object.metadata.name && object.metadata.name !== name) throw badRequest('the name of the object does not match the name on the URL');
    if (object.metadata.resourceVersion && object.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(type.resource, name, type.group);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    object.metadata = {
      ...object.metadata,
      name,
      ...(type.namespaced ? { namespace } : {}),
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: (current.metadata.generation ?? 1) + (JSON.stringify(object.spec) === JSON.stringify(current.spec) ? 0 : 1),
    };
    if (object.status === undefined && current.status !== undefined) object.status = current.status;
    applyDefaults(type, object);
    return this.commit(type, k, object, 'MODIFIED');
  }

  delete(type: ResourceType, namespace: string, name: string): KubeObject {
    const k = key(type, namespace, name);
    const current = this.objects.get(k);
    if (!current) throw notFound(type.resource, name, type.group);
    this.objects.delete(k);
    if (type.resource === 'namespaces') {
      for (const objectKey of [...this.objects.keys()]) if (objectKey.split('/')[2] === name) this.objects.delete(objectKey);
    }
    this.revision++;
    const object = structuredClone(current);
    object.metadata.resourceVersion = String(this.revision);
    this.publish({ type: 'DELETED', object, resourceVersion: this.revision, typeKey: typeKey(type) });
    return structuredClone(object);
  }

  /** Changes after `resourceVersion` of one type, oldest first. */
  eventsSince(type: ResourceType, resourceVersion: number): WatchEvent[] {
    return this.history.filter((event) => event.typeKey === typeKey(type) && event.resourceVersion > resourceVersion);
  }

  subscribe(listener: (event: WatchEvent) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private commit(type: ResourceType, k: string, object: KubeObject, eventType: WatchEventType): KubeObject {
    this.revision++;
    object.metadata.resourceVersion = String(this.revision);
    this.objects.set(k, object);
    this.publish({ type: eventType, object: structuredClone(object), resourceVersion: this.revision, typeKey: typeKey(type) });
    return structuredClone(object);
  }

  private publish(event: WatchEvent): void {
    this.history.push(event);
    for (const watcher of this.watchers) watcher(event);
  }
}

export function typeKey(type: ResourceType): string {
  return `${type.group}/${type.resource}`;
}

function key(type: ResourceType, namespace: string, name: string): string {
  return `${typeKey(type)}/${type.namespaced ? namespace : ''}/${name}`;
}

let nextIp = 10;

/** What controllers and the kubelet would have filled in by the time a client looks. */
function applyDefaults(type: ResourceType, object: KubeObject): void {
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  switch (type.kind) {
    case 'Namespace':
      object.spec = { finalizers: ['kubernetes'], ...spec };
      object.status = { phase: 'Active' };
      break;
    case 'Pod': {
      const containers = (spec.containers ?? []) as Array<Record<string, unknown>>;
      object.spec = { restartPolicy: 'Always', nodeName: 'test-node', ...spec };
      const previous = (object.status ?? {}) as Record<string, unknown>;
      object.status = {
        phase: 'Running',
        podIP: `10.244.0.${nextIp++ % 250}`,
        hostIP: '127.0.0.1',
        startTime: object.metadata.creationTimestamp,
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: containers.map((container) => ({
          name: container.name,
          image: container.image,
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: object.metadata.creationTimestamp } },
        })),
        ...previous,
      };
      break;
    }
    case 'Service':
      object.spec = { type: 'ClusterIP', clusterIP: `10.96.0.${nextIp++ % 250}`, sessionAffinity: 'None', ...spec };
      break;
    case 'Secret':
      object.type ??= 'Opaque';
      if (object.stringData) {
        const data = (object.data ?? {}) as Record<string, string>;
        for (const [k, v] of Object.entries(object.stringData as Record<string, string>)) data[k] = Buffer.from(v).toString('base64');
        object.data = data;
        delete object.stringData;
      }
      break;
    case 'Deployment': {
      const replicas = Number(spec.replicas ?? 1);
      object.spec = { replicas, strategy: { type: 'RollingUpdate' }, ...spec };
      object.status = { observedGeneration: object.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
      break;
    }
  }
}
