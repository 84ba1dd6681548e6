import { get, queryString } from '../api.js';
import { append, clear, h } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { json, time } from '../format.js';
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
  const body = h('tbody', {});
  const status = h('p', { class: 'status' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const filter = queryString(filterValues(FIELDS, params));
  const exportUrl = (format: string) => `/api/queries/export${filter ? `${filter}&` : '?'}format=${format}`;
  let cursor: string | null = null;

  const load = async () => {
    status.textContent = 'Loading…';
    const query = queryString({ ...filterValues(FIELDS, params), ...(cursor ? { cursor } : {}) });
    try {
      const page = await get<{ items: QueryItem[]; nextCursor: string | null }>(`/api/queries${query}`);
      for (const item of page.items) append(body, row(item));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      status.textContent = body.childElementCount === 0 ? 'No statements match.' : `${body.childElementCount} statements shown${cursor ? ' (more available)' : ''}.`;
    } catch (err) {
      status.textContent = (err as Error).message;
      status.className = 'status error';
    }
  };
  more.addEventListener('click', () => void load());

  clear(main);
  append(
    main,
    h('h1', {}, 'Queries'),
    filterForm(FIELDS, params, (query) => navigate(`/queries${query}`)),
    h(
      'p',
      { class: 'exports' },
      'Download exactly this filtered set: ',
      h('a', { href: exportUrl('csv'), download: '', class: 'button', 'data-testid': 'export-csv' }, 'CSV'),
      ' ',
      h('a', { href: exportUrl('jsonl'), download: '', class: 'button', 'data-testid': 'export-jsonl' }, 'JSON lines'),
    ),
    h(
      'table',
      { 'data-testid': 'queries', class: 'queries' },
      h('thead', {}, h('tr', {}, ...['Time', 'Identity', 'Target / db', 'Session', 'Statement', 'Parameters', 'Duration', 'Result'].map((title) => h('th', {}, title)))),
      body,
    ),
    status,
    more,
  );
  void load();
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
