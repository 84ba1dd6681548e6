import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeRequestInfo } from '../../../src/proxy/kubernetes/request-info.js';
import type { ObjectStore } from './object-store.js';
import { findResourceType, type KubeObject } from './resources.js';
import { badRequest } from './status.js';

type Listener = (chunk: Buffer | null) => void;

/** What containers wrote, per pod and container; a test appends to it like a running process would. */
export class PodLogs {
  private readonly logs = new Map<string, { chunks: Buffer[]; listeners: Set<Listener> }>();

  append(namespace: string, pod: string, container: string, text: string | Buffer): void {
    const log = this.entry(namespace, pod, container);
    const chunk = typeof text === 'string' ? Buffer.from(text) : text;
    log.chunks.push(chunk);
    for (const listener of log.listeners) listener(chunk);
  }

  /** Ends every follow of this container's log (the container stopped). */
  end(namespace: string, pod: string, container: string): void {
    for (const listener of this.entry(namespace, pod, container).listeners) listener(null);
  }

  content(namespace: string, pod: string, container: string): Buffer {
    return Buffer.concat(this.entry(namespace, pod, container).chunks);
  }

  follow(namespace: string, pod: string, container: string, listener: Listener): () => void {
    const log = this.entry(namespace, pod, container);
    log.listeners.add(listener);
    return () => log.listeners.delete(listener);
  }

  private entry(namespace: string, pod: string, container: string) {
    const key = `${namespace}/${pod}/${container}`;
    let log = this.logs.get(key);
    if (!log) {
      log = { chunks: [], listeners: new Set() };
      this.logs.set(key, log);
    }
    return log;
  }
}

/** The container a request names, or the pod's only (or default) container. */
export function containerOf(pod: KubeObject, requested: string | null): string {
  const containers = ((pod.spec as { containers?: Array<{ name: string }> } | undefined)?.containers ?? []).map((c) => c.name);
  if (requested) {
    if (!containers.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && containers.includes(annotated)) return annotated;
  if (containers.length === 1) return containers[0]!;
  throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`);
}

/** GET pods/{name}/log: text/plain, `follow=true` streams until the container's log ends or the pod goes. */
export function handleLogs(store: ObjectStore, logs: PodLogs, info: KubeRequestInfo, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, streams: Set<ServerResponse>): void {
  const pods = findResourceType('', 'v1', 'pods')!;
  const pod = store.get(pods, info.namespace, info.name);
  const container = containerOf(pod, query.get('container'));
  let content = logs.content(info.namespace, info.name, container);
  const tail = query.get('tailLines');
  if (tail !== null) {
    const lines = content.toString('utf8').split(/(?<=\n)/);
    content = Buffer.from(lines.slice(Math.max(0, lines.length - Number(tail))).join(''));
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  if (content.length > 0) res.write(content);
  const follow = query.get('follow') === 'true';
  if (!follow) {
    res.end();
    return;
  }
  res.flushHeaders();
  streams.add(res);
  const stopFollow = logs.follow(info.namespace, info.name, container, (chunk) => (chunk === null ? res.end() : res.write(chunk)));
  const stopWatch = store.subscribe((event) => {
    if (event.type === 'DELETED' && event.typeKey === '/pods' && event.object.metadata.namespace === info.namespace && event.object.metadata.name === info.name) res.end();
  });
  const stop = () => {
    stopFollow();
    stopWatch();
    streams.delete(res);
  };
  res.on('close', stop);
  req.on('close', stop);
}
