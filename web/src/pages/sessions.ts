import { get, queryString } from '../api.js';
import { append, clear, h } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { duration, time } from '../format.js';
import { navigate } from '../router.js';

interface SessionItem {
  id: string;
  protocol: string;
  state: string;
  identityName: string;
  identityKind: string;
  identityOwner: string | null;
  target: string;
  login: string | null;
  database: string | null;
  clientAddr: string | null;
  ticket: string | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
}

const FIELDS: FilterField[] = [
  { name: 'identity', label: 'Identity' },
  { name: 'target', label: 'Target' },
  { name: 'protocol', label: 'Protocol', type: 'select', options: ['', 'ssh', 'postgres', 'kubernetes'] },
  { name: 'state', label: 'State', type: 'select', options: ['', 'live', 'closed', 'interrupted'] },
  { name: 'ticket', label: 'Ticket' },
  { name: 'since', label: 'From', type: 'datetime' },
  { name: 'until', label: 'To', type: 'datetime' },
];

export function renderSessions(main: HTMLElement, params: URLSearchParams): () => void {
  const body = h('tbody', {});
  const status = h('p', { class: 'status' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  let cursor: string | null = null;

  const load = async () => {
    status.textContent = 'Loading…';
    const query = queryString({ ...filterValues(FIELDS, params), ...(cursor ? { cursor } : {}) });
    try {
      const page = await get<{ items: SessionItem[]; nextCursor: string | null }>(`/api/sessions${query}`);
      for (const session of page.items) append(body, row(session));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      status.textContent = body.childElementCount === 0 ? 'No sessions match.' : `${body.childElementCount} sessions shown${cursor ? ' (more available)' : ''}.`;
    } catch (err) {
      status.textContent = (err as Error).message;
      status.className = 'status error';
    }
  };
  more.addEventListener('click', () => void load());

  clear(main);
  append(
    main,
    h('h1', {}, 'Sessions'),
    filterForm(FIELDS, params, (query) => navigate(`/sessions${query}`)),
    h(
      'table',
      { 'data-testid': 'sessions' },
      h('thead', {}, h('tr', {}, ...['Started', 'Identity', 'Target', 'Protocol', 'Login / db', 'From', 'Ticket', 'State', 'Duration', 'End reason'].map((title) => h('th', {}, title)))),
      body,
    ),
    status,
    more,
  );
  void load();
  return () => undefined;
}

function row(session: SessionItem): HTMLElement {
  const link = h('a', { href: `/sessions/${encodeURIComponent(session.id)}`, 'data-nav': true }, time(session.startedAt));
  return h(
    'tr',
    {},
    h('td', {}, link),
    h('td', {}, session.identityName, session.identityKind === 'bot' ? h('span', { class: 'tag' }, `bot of ${session.identityOwner ?? '?'}`) : null),
    h('td', {}, session.target),
    h('td', {}, session.protocol),
    h('td', {}, session.login ?? session.database ?? '—'),
    h('td', {}, session.clientAddr ?? '—'),
    h('td', {}, session.ticket ?? '—'),
    h('td', {}, h('span', { class: `state state-${session.state}` }, session.state)),
    h('td', {}, session.state === 'live' ? 'running' : duration(session.startedAt, session.endedAt)),
    h('td', {}, session.endReason ?? '—'),
  );
}
