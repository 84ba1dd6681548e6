import { queryString } from '../api.js';
import { append, clear, h } from '../dom.js';
import { exportLinks } from '../exports.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { json, time } from '../format.js';
import { pagedTable } from '../paged-table.js';
import { navigate } from '../router.js';

interface QueryItem {
  id: number;
  sessionId: string;
  seq: number;
  identity: string;
  target: string;
  database: string;
  dbUser: string;
  statement: string;
  params: unknown;
  startedAt: string;
  durationMs: number | null;
  commandTag: string | null;
  rowCount: number | null;
  status: string;
  sqlstate: string | null;
  errorMessage: string | null;
}

const FIELDS: FilterField[] = [
  { name: 'identity', label: 'Identity' },
  { name: 'session', label: 'Session' },
  { name: 'target', label: 'Target' },
  { name: 'status', label: 'Status', type: 'select', options: ['', 'ok', 'error', 'cancelled', 'skipped', 'unfinished'] },
  { name: 'since', label: 'From', type: 'datetime' },
  { name: 'until', label: 'To', type: 'datetime' },
];

export function renderQueries(main: HTMLElement, params: URLSearchParams): () => void {
  const filter = queryString(filterValues(FIELDS, params));

  clear(main);
  append(
    main,
    h('h1', {}, 'Queries'),
    filterForm(FIELDS, params, (query) => navigate(`/queries${query}`)),
    exportLinks('/api/queries/export', filter),
    ...pagedTable<QueryItem>({
      path: '/api/queries',
      filter: filterValues(FIELDS, params),
      noun: 'statements',
      headers: ['Time', 'Identity', 'Target / db', 'Session', 'Statement', 'Parameters', 'Duration', 'Result'],
      attributes: { 'data-testid': 'queries', class: 'queries' },
      row,
    }),
  );
  return () => undefined;
}

function row(item: QueryItem): HTMLElement {
  const result =
    item.status === 'error'
      ? h('span', { class: 'error' }, `${item.sqlstate ?? ''} ${item.errorMessage ?? 'error'}`.trim())
      : `${item.commandTag ?? item.status}${item.rowCount !== null ? ` (${item.rowCount} rows)` : ''}`;
  return h(
    'tr',
    {},
    h('td', {}, time(item.startedAt)),
    h('td', {}, item.identity),
    h('td', {}, `${item.target} / ${item.database} as ${item.dbUser}`),
    h('td', {}, h('a', { href: `/sessions/${encodeURIComponent(item.sessionId)}`, 'data-nav': true }, `${item.sessionId} #${item.seq}`)),
    h('td', {}, h('pre', { class: 'sql' }, item.statement)),
    h('td', {}, item.params ? h('pre', { class: 'params' }, json(item.params)) : '—'),
    h('td', {}, item.durationMs === null ? '—' : `${item.durationMs.toFixed(1)} ms`),
    h('td', {}, result),
  );
}
