import type { KubeRequestRow } from '../../store/repositories/kube-requests.js';
import { kubeRequestRecord } from '../kube-request-export.js';
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

/** The request's export record (`custos kube-requests --format jsonl`) without what the entry already says. */
function kubeRequestDetails(row: KubeRequestRow): Record<string, unknown> {
  const { id: _id, seq: _seq, session_id: _session, identity: _identity, identity_id: _identityId, target: _target, started_at: _started, ...details } = kubeRequestRecord(row);
  return details;
}
