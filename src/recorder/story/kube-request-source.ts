import type { KubeRequestRow } from '../../store/repositories/kube-requests.js';
import { sessionFields } from './channel-source.js';
import { storyEntry, type StoryEntry, type StorySource } from './story-model.js';

const PAGE = 5000;

/**
 * Each Kubernetes API request of the story's Kubernetes sessions: verb, resource, namespace,
 * name, decision and response code. An API session lives as long as its client keeps
 * talking (hours for a kubeconfig in daily use), so unlike statements only the requests
 * that started inside the window count; exec and attach appear as their own sessions.
 */
export const kubeRequestSource: StorySource = {
  name: 'kubernetes requests',
  async entries(context) {
    const entries: StoryEntry[] = [];
    for (const detail of context.sessions) {
      if (detail.session.protocol !== 'kubernetes') continue;
      const common = sessionFields(detail);
      let afterId = 0;
      while (true) {
        const page = await context.store.kubeRequests.list({
          sessionId: detail.session.id,
          ...(context.window.since ? { since: context.window.since } : {}),
          ...(context.window.until ? { until: context.window.until } : {}),
          afterId,
          order: 'asc',
          limit: PAGE,
        });
        for (const row of page) entries.push(storyEntry({ ...common, time: row.startedAt.toISOString(), kind: 'kubernetes.request', summary: kubeRequestSummary(row), kube_request: { id: row.id, seq: row.seq }, details: kubeRequestDetails(row) }));
        if (page.length < PAGE) break;
        afterId = page.at(-1)!.id;
      }
    }
    return entries;
  },
};

export function kubeRequestSummary(row: KubeRequestRow): string {
  const resource = row.resource ? `${row.apiGroup ? `${row.resource}.${row.apiGroup}` : row.resource}${row.subresource ? `/${row.subresource}` : ''}` : row.path;
  const name = row.name ? ` ${row.name}` : '';
  const namespace = row.namespace ? ` in namespace ${row.namespace}` : '';
  const outcome = row.decision === 'denied' ? ` -> DENIED: ${row.reason ?? ''}`.trimEnd() : row.code !== null ? ` -> ${row.code}` : ' (running)';
  return `${row.verb} ${resource}${name}${namespace}${outcome}`;
}

function kubeRequestDetails(row: KubeRequestRow): Record<string, unknown> {
  return {
    method: row.method,
    verb: row.verb,
    api_group: row.apiGroup,
    api_version: row.apiVersion,
    resource: row.resource,
    subresource: row.subresource,
    namespace: row.namespace,
    name: row.name,
    path: row.path,
    decision: row.decision,
    reason: row.reason,
    kube_user: row.kubeUser,
    kube_groups: row.kubeGroups,
    code: row.code,
    duration_ms: row.durationMs,
    request_bytes: row.requestBytes,
    response_bytes: row.responseBytes,
  };
}
