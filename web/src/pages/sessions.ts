import { append, clear, h } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { duration, identityLink, time } from '../format.js';
import { pagedTable } from '../paged-table.js';
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

  clear(main);
  append(
    main,
    h('h1', {}, 'Sessions'),
    filterForm(FIELDS, params, (query) => navigate(`/sessions${query}`)),
    ...pagedTable<SessionItem>({
      path: '/api/sessions',
      filter: filterValues(FIELDS, params),
      noun: 'sessions',
      headers: ['Started', 'Identity', 'Target', 'Protocol', 'Login / db', 'From', 'Ticket', 'State', 'Duration', 'End reason'],
      attributes: { 'data-testid': 'sessions' },
      row,
    }),
  );
  return () => undefined;
}

function row(session: SessionItem): HTMLElement {
  const link = h('a', { href: `/sessions/${encodeURIComponent(session.id)}`, 'data-nav': true }, time(session.startedAt));
  return h(
    'tr',
    {},
    h('td', {}, link),
    h('td', {}, identityLink(session.identityName), session.identityKind === 'bot' ? h('span', { class: 'tag' }, 'bot of ', identityLink(session.identityOwner)) : null),
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
