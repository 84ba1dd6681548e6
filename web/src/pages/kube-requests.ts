import { queryString } from '../api.js';
import { append, clear, h } from '../dom.js';
import { exportLinks } from '../exports.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { time } from '../format.js';
import { pagedTable } from '../paged-table.js';
import { navigate } from '../router.js';

interface KubeRequestItem {
  id: number;
  sessionId: string;
  seq: number;
  identity: string;
  target: string;
  method: string;
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
  decision: 'allowed' | 'denied';
  reason: string | null;
  kubeUser: string | null;
  kubeGroups: string[] | null;
  startedAt: string;
  code: number | null;
  durationMs: number | null;
  requestBytes: number | null;
  responseBytes: number | null;
}

const FIELDS: FilterField[] = [
  { name: 'identity', label: 'Identity' },
  { name: 'session', label: 'Session' },
  { name: 'target', label: 'Target' },
  { name: 'verb', label: 'Verb' },
  { name: 'resource', label: 'Resource' },
  { name: 'namespace', label: 'Namespace' },
  { name: 'decision', label: 'Decision', type: 'select', options: ['', 'allowed', 'denied'] },
  { name: 'since', label: 'From', type: 'datetime' },
  { name: 'until', label: 'To', type: 'datetime' },
];

/** Kubernetes API requests through the gateway, newest first, with the same filters and exports as `custos kube-requests`. */
export function renderKubeRequests(main: HTMLElement, params: URLSearchParams): () => void {
  const filter = queryString(filterValues(FIELDS, params));
  clear(main);
  append(
    main,
    h('h1', {}, 'Kubernetes requests'),
    filterForm(FIELDS, params, (query) => navigate(`/kube-requests${query}`)),
    exportLinks('/api/kube-requests/export', filter),
    ...pagedTable<KubeRequestItem>({
      path: '/api/kube-requests',
      filter: filterValues(FIELDS, params),
      noun: 'requests',
      headers: ['Time', 'Identity', 'Target', 'Session', 'Request', 'As', 'Result', 'Duration', 'Bytes'],
      attributes: { 'data-testid': 'kube-requests', class: 'queries' },
      row,
    }),
  );
  return () => undefined;
}

function row(item: KubeRequestItem): HTMLElement {
  const resource = item.resource ? `${item.resource}${item.subresource ? `/${item.subresource}` : ''}` : item.path.split('?')[0]!;
  const where = [item.namespace && `in ${item.namespace}`, item.name && `"${item.name}"`].filter(Boolean).join(' ');
  const result =
    item.decision === 'denied'
      ? h('span', { class: 'error' }, `denied (${item.code ?? '—'}): ${item.reason ?? ''}`)
      : item.code === null
        ? 'running'
        : `${item.code}${item.reason ? ` — ${item.reason}` : ''}`;
  return h(
    'tr',
    {},
    h('td', {}, time(item.startedAt)),
    h('td', {}, item.identity),
    h('td', {}, item.target),
    h('td', {}, h('a', { href: `/sessions/${encodeURIComponent(item.sessionId)}`, 'data-nav': true }, `${item.sessionId} #${item.seq}`)),
    h('td', {}, h('code', {}, `${item.verb} ${resource}`), where ? ` ${where}` : '', h('div', { class: 'hint' }, `${item.method} ${item.path}`)),
    h('td', {}, item.kubeUser ? `${item.kubeUser}${item.kubeGroups?.length ? ` (${item.kubeGroups.join(', ')})` : ''}` : '—'),
    h('td', {}, result),
    h('td', {}, item.durationMs === null ? '—' : `${item.durationMs.toFixed(1)} ms`),
    h('td', {}, item.requestBytes === null && item.responseBytes === null ? '—' : `${item.requestBytes ?? 0} / ${item.responseBytes ?? 0}`),
  );
}
