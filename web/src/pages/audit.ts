import { get } from '../api.js';
import { append, clear, h, type Child } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { identityLink, json, time } from '../format.js';
import { pagedTable } from '../paged-table.js';
import { navigate } from '../router.js';

interface AuditEvent {
  seq: number;
  time: string;
  type: string;
  actor: string;
  identity: string | null;
  sessionId: string | null;
  target: string | null;
  data: Record<string, unknown>;
  hash: string;
}

interface VerifyResult {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  fault: { seq: number; reason?: string; message?: string } | null;
  checkedAt: string;
}

const FIELDS: FilterField[] = [
  { name: 'category', label: 'Show', type: 'select', options: ['changes', 'access', 'viewer', 'sessions', 'all'] },
  { name: 'identity', label: 'Identity' },
  { name: 'actor', label: 'Actor' },
  { name: 'target', label: 'Target' },
  { name: 'type', label: 'Event type', placeholder: 'e.g. permission.grant' },
  { name: 'seq', label: 'Event #' },
  { name: 'since', label: 'From', type: 'datetime' },
  { name: 'until', label: 'To', type: 'datetime' },
];

export function renderAudit(main: HTMLElement, params: URLSearchParams): () => void {
  const chain = h('div', { class: 'chain', 'data-testid': 'chain' }, 'Verifying the audit chain…');

  clear(main);
  append(
    main,
    h('h1', {}, 'Audit'),
    chain,
    filterForm(FIELDS, params, (query) => navigate(`/audit${query}`)),
    ...pagedTable<AuditEvent>({
      path: '/api/audit',
      filter: filterValues(FIELDS, params),
      noun: 'events',
      headers: ['#', 'Time', 'Event', 'Actor', 'Identity', 'Target / session', 'Details'],
      attributes: { 'data-testid': 'audit', class: 'audit' },
      row,
    }),
  );
  void (async () => {
    try {
      const result = await get<VerifyResult>('/api/audit/verify');
      clear(chain);
      chain.className = `chain ${result.ok ? 'ok' : 'broken'}`;
      append(
        chain,
        result.ok
          ? `Audit chain verified: ${result.checked} events, head #${result.head?.seq ?? 0} (${(result.head?.hash ?? '').slice(0, 16)}…), checked ${time(result.checkedAt)}.`
          : `Audit chain BROKEN at event #${result.fault?.seq ?? '?'}: ${result.fault?.message ?? result.fault?.reason ?? 'unknown fault'} (${result.checked} events verified before it).`,
      );
    } catch (err) {
      chain.textContent = `Could not verify the chain: ${(err as Error).message}`;
    }
  })();
  return () => undefined;
}

function row(event: AuditEvent): HTMLElement {
  return h(
    'tr',
    {},
    h('td', {}, String(event.seq)),
    h('td', {}, time(event.time)),
    h('td', {}, h('code', {}, event.type)),
    h('td', {}, identityLink(event.actor)),
    h('td', {}, identityLink(event.identity)),
    h('td', {}, event.sessionId ? h('a', { href: `/sessions/${encodeURIComponent(event.sessionId)}`, 'data-nav': true }, event.sessionId) : (event.target ?? '—')),
    h('td', {}, details(event)),
  );
}

function details(event: AuditEvent): Child {
  const data = event.data;
  if (event.type.startsWith('resource.')) {
    return h(
      'div',
      {},
      h('strong', {}, `${String(data.kind)} ${String(data.name)}`),
      data.reason ? h('span', { class: 'hint' }, ` — ${String(data.reason)}`) : null,
      h('div', { class: 'diff' }, h('div', {}, h('em', {}, 'before'), h('pre', {}, json(data.before ?? null))), h('div', {}, h('em', {}, 'after'), h('pre', {}, json(data.after ?? null)))),
    );
  }
  if (event.type.startsWith('access.')) {
    return h('span', {}, `${String(data.protocol ?? '')} ${String(data.action ?? '')} — ${String(data.reason ?? '')}`);
  }
  return h('details', {}, h('summary', {}, 'data'), h('pre', {}, json(data)));
}
