import { ApiError, get, post } from '../api.js';
import { append, clear, facts, h, table, type Child } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { duration, identityLink, time } from '../format.js';
import { pagedTable } from '../paged-table.js';
import { navigate } from '../router.js';

interface RequestItem {
  id: string;
  state: string;
  identityName: string;
  identityKind: string;
  identityOwner: string | null;
  requestedBy: string;
  target: string;
  protocol: string;
  login: string | null;
  dbUser: string | null;
  kubeGroup: string | null;
  role: string;
  reason: string;
  ticket: string | null;
  duration: string;
  startsAt: string | null;
  approvalsRequired: number;
  approverRoles: string[];
  createdAt: string;
  expiresAt: string;
  closedAt: string | null;
  closedBy: string | null;
  closeReason: string | null;
  approvals: Array<{ approver: string; decision: string; reason: string | null; at: string }>;
  grant: { id: string; from: string; until: string; state: string; endKind: string | null; endedBy: string | null; endReason: string | null } | null;
}

interface SessionUnder {
  id: string;
  protocol: string;
  state: string;
  identityName: string;
  target: string;
  login: string | null;
  database: string | null;
  node: string;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  hasRecording: boolean;
  statements: number;
}

const FIELDS: FilterField[] = [
  { name: 'state', label: 'State', type: 'select', options: ['', 'pending', 'approved', 'denied', 'expired', 'revoked'] },
  { name: 'identity', label: 'Identity' },
];

const principal = (r: RequestItem) => (r.login ? `login ${r.login}` : r.dbUser ? `db user ${r.dbUser}` : r.kubeGroup ? `group ${r.kubeGroup}` : '—');
const approvedCount = (r: RequestItem) => r.approvals.filter((a) => a.decision === 'approve').length;
const stateBadge = (state: string) => h('span', { class: `state state-${state}`, 'data-testid': 'request-state' }, state);

/** /requests: the list (filterable), a form to ask for access; /requests/<id>: one request. */
export function renderRequests(main: HTMLElement, params: URLSearchParams, id: string | null): () => void {
  if (id) return renderRequest(main, id);
  clear(main);
  append(
    main,
    h('h1', {}, 'Access requests'),
    filterForm(FIELDS, params, (query) => navigate(`/requests${query}`)),
    ...pagedTable<RequestItem>({
      path: '/api/requests',
      filter: filterValues(FIELDS, params),
      noun: 'requests',
      headers: ['Created', 'State', 'For', 'Target', 'As', 'Ticket', 'Approvals', 'Until', 'Reason'],
      attributes: { 'data-testid': 'requests' },
      row: (r) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `/requests/${encodeURIComponent(r.id)}`, 'data-nav': true }, time(r.createdAt))),
          h('td', {}, stateBadge(r.state)),
          h('td', {}, identityLink(r.identityName), r.identityKind === 'bot' ? h('span', { class: 'tag' }, 'bot of ', identityLink(r.identityOwner)) : null),
          h('td', {}, r.target),
          h('td', {}, principal(r)),
          h('td', {}, r.ticket ?? '—'),
          h('td', {}, `${approvedCount(r)}/${r.approvalsRequired}`),
          h('td', {}, r.grant ? time(r.grant.until) : '—'),
          h('td', {}, r.reason),
        ),
    }),
    createForm(),
  );
  return () => undefined;
}

/** Ask for access: the API checks it against the roles (and says why not). */
function createForm(): HTMLElement {
  const input = (name: string, placeholder = '') => h('input', { name, type: 'text', placeholder }) as HTMLInputElement;
  const target = input('target');
  const kind = h('select', { name: 'as' }, h('option', { value: 'login' }, 'SSH login'), h('option', { value: 'dbUser' }, 'database user'), h('option', { value: 'kubeGroup' }, 'Kubernetes group')) as HTMLSelectElement;
  const as = input('principal', 'default of the role');
  const reason = input('reason', 'why you need it');
  const ticket = input('ticket', 'CHG-…');
  const length = input('duration', '1h');
  const status = h('p', { class: 'status', 'data-testid': 'create-status' });
  const form = h(
    'form',
    {
      class: 'filters',
      'data-testid': 'create-request',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        status.textContent = 'Asking…';
        status.className = 'status';
        try {
          const created = await post<RequestItem>('/api/requests', {
            target: target.value.trim(),
            reason: reason.value,
            ...(as.value.trim() ? { [kind.value]: as.value.trim() } : {}),
            ...(ticket.value.trim() ? { ticket: ticket.value.trim() } : {}),
            ...(length.value.trim() ? { duration: length.value.trim() } : {}),
          });
          navigate(`/requests/${encodeURIComponent(created.id)}`);
        } catch (err) {
          status.textContent = err instanceof ApiError ? err.message : String(err);
          status.className = 'status error';
        }
      },
    },
    h('label', {}, 'Target', target),
    h('label', {}, 'As', kind),
    h('label', {}, 'Name', as),
    h('label', {}, 'Reason', reason),
    h('label', {}, 'Ticket', ticket),
    h('label', {}, 'Duration', length),
    h('button', { type: 'submit' }, 'Ask for access'),
  );
  return h('section', {}, h('h2', {}, 'Ask for access'), form, status);
}

function renderRequest(main: HTMLElement, id: string): () => void {
  let stopped = false;
  const load = async () => {
    let detail: RequestItem & { sessions: SessionUnder[] };
    try {
      detail = await get(`/api/requests/${encodeURIComponent(id)}`);
    } catch (err) {
      clear(main);
      append(main, h('h1', {}, 'Access request'), h('p', { class: 'error' }, err instanceof ApiError ? err.message : String(err)));
      return;
    }
    if (stopped) return;
    const r = detail;
    clear(main);
    append(
      main,
      h('h1', {}, 'Access request ', h('code', {}, r.id), ' ', stateBadge(r.state)),
      h(
        'section',
        { 'data-testid': 'request' },
        facts([
          ['For', h('span', {}, identityLink(r.identityName), ` (${r.identityKind}`, r.identityOwner ? h('span', {}, ', owner ', identityLink(r.identityOwner)) : null, ')')],
          ['Asked by', identityLink(r.requestedBy)],
          ['Target', `${r.target} (${r.protocol})`],
          ['As', principal(r)],
          ['Role', r.role],
          ['Reason', r.reason],
          ['Ticket', r.ticket ?? '—'],
          ['Duration', r.duration],
          ['Created', time(r.createdAt)],
          ['Approvals', `${approvedCount(r)} of ${r.approvalsRequired} (approvers: holders of ${r.approverRoles.join(', ')})`],
          ...(r.state === 'pending' ? [['Expires unanswered', time(r.expiresAt)] as [string, Child]] : []),
          ...(r.grant
            ? [['Access', `${time(r.grant.from)} → ${time(r.grant.until)} (${r.grant.state}${r.grant.endKind ? `, ${r.grant.endKind}` : ''})`] as [string, Child]]
            : []),
          ...(r.closedAt ? [['Closed', `${time(r.closedAt)} by ${r.closedBy ?? '?'}: ${r.closeReason ?? ''}`] as [string, Child]] : []),
        ]),
      ),
      actions(r, () => void load()),
      h(
        'section',
        {},
        h('h2', {}, 'Answers'),
        table(
          ['Time', 'Approver', 'Answer', 'Reason'],
          r.approvals.map((a) => [time(a.at), identityLink(a.approver), a.decision, a.reason ?? '—']),
          { empty: 'No answers yet.', testid: 'approvals' },
        ),
      ),
      h(
        'section',
        {},
        h('h2', {}, 'Sessions under this request'),
        table(
          ['Started', 'Identity', 'Protocol', 'Login / db', 'State', 'Duration', 'Evidence', 'End reason'],
          detail.sessions.map((s) => [
            h('a', { href: `/sessions/${encodeURIComponent(s.id)}`, 'data-nav': true }, time(s.startedAt)),
            identityLink(s.identityName),
            s.protocol,
            s.login ?? s.database ?? '—',
            h('span', { class: `state state-${s.state}` }, s.state),
            s.state === 'live' ? 'running' : duration(s.startedAt, s.endedAt),
            evidence(s),
            s.endReason ?? '—',
          ]),
          { empty: 'No session was opened under this request.', testid: 'request-sessions' },
        ),
      ),
    );
  };
  void load();
  return () => {
    stopped = true;
  };
}

function evidence(s: SessionUnder): Child {
  const parts: Child[] = [];
  if (s.hasRecording) parts.push(h('a', { href: `/sessions/${encodeURIComponent(s.id)}`, 'data-nav': true }, 'recording'));
  if (s.protocol === 'postgres') {
    parts.push(h('a', { href: `/queries?session=${encodeURIComponent(s.id)}`, 'data-nav': true }, `${s.statements} statement${s.statements === 1 ? '' : 's'}`));
  }
  return parts.length ? h('span', {}, ...parts.flatMap((part, i) => (i ? [' · ', part] : [part]))) : '—';
}

/** Approve / deny (pending) and revoke (pending or approved); the gateway decides who may. */
function actions(r: RequestItem, reload: () => void): Child {
  if (r.state !== 'pending' && r.state !== 'approved') return null;
  const reason = h('input', { type: 'text', placeholder: 'reason (kept in the audit log)', 'data-testid': 'answer-reason', maxlength: '2000' }) as HTMLInputElement;
  const status = h('span', { class: 'hint', 'data-testid': 'answer-status' });
  const act = (what: 'approve' | 'deny' | 'revoke', label: string) => {
    const button = h('button', { type: 'button', 'data-testid': `request-${what}` }, label) as HTMLButtonElement;
    button.onclick = async () => {
      if (what !== 'approve' && !reason.value.trim()) {
        status.textContent = 'Give a reason first.';
        return;
      }
      button.disabled = true;
      status.textContent = '…';
      try {
        await post(`/api/requests/${encodeURIComponent(r.id)}/${what}`, reason.value.trim() ? { reason: reason.value.trim() } : {});
        reload();
      } catch (err) {
        button.disabled = false;
        status.textContent = err instanceof ApiError ? err.message : String(err);
      }
    };
    return button;
  };
  return h(
    'div',
    { class: 'terminate', 'data-testid': 'request-actions' },
    reason,
    r.state === 'pending' ? act('approve', 'Approve') : null,
    r.state === 'pending' ? act('deny', 'Deny') : null,
    act('revoke', r.state === 'pending' ? 'Withdraw' : 'Revoke'),
    status,
  );
}
