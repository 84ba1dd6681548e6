import { ApiError, get, queryString } from '../api.js';
import { append, clear, facts, h, table, type Child } from '../dom.js';
import { filterForm, filterValues, type FilterField } from '../filters.js';
import { identityLink, time } from '../format.js';
import { navigate } from '../router.js';

interface StoryEntry {
  time: string;
  kind: string;
  identity: string | null;
  actor: string | null;
  protocol: string | null;
  target: string | null;
  summary: string;
  session_id: string | null;
  channel_id: number | null;
  recording: { file: string; sha256: string | null } | null;
  request_id: string | null;
  grant_id: string | null;
  ticket: string | null;
  audit_seqs: number[];
  query: { id: number; seq: number } | null;
  kube_request: { id: number; seq: number } | null;
}

interface Story {
  identity: {
    name: string;
    exists: boolean;
    kind: string | null;
    owner: string | null;
    roles: string[];
    bots: string[];
    credentials: Array<{
      token_id: string;
      created_at: string;
      created_by: string;
      expires_at: string | null;
      revoked_at: string | null;
      request: { id: string; ticket: string | null; requested_by: string; approvals: Array<{ approver: string; decision: string; at: string }> } | null;
    }>;
  };
  window: { since: string | null; until: string | null };
  head: { seq: number; hash: string } | null;
  sessions: number;
  entries: StoryEntry[];
  truncated: boolean;
  rights: { sessions: boolean; statements: boolean; history: boolean };
}

const FIELDS: FilterField[] = [
  { name: 'since', label: 'From', type: 'datetime' },
  { name: 'until', label: 'To', type: 'datetime' },
  { name: 'protocol', label: 'Protocol', type: 'select', options: ['', 'ssh', 'postgres', 'kubernetes'] },
  { name: 'statements', label: 'Statements', type: 'select', options: ['', 'true'] },
];

/**
 * An identity's story (`/identities/<name>`): who it is, its credentials and the approvals
 * behind them, and one timeline of what it did and what was done to it, each entry linking
 * to its evidence — the session's replay, its statements, the request, the audit event.
 */
export function renderIdentity(main: HTMLElement, name: string, params: URLSearchParams, audit: boolean): () => void {
  const base = `/identities/${encodeURIComponent(name)}`;
  const status = h('p', { class: 'status' }, 'Loading…');
  const body = h('div', {});
  clear(main);
  append(main, h('h1', {}, 'Story of ', h('code', {}, name)), filterForm(FIELDS, params, (query) => navigate(`${base}${query}`)), status, body);
  void (async () => {
    let story: Story;
    try {
      story = await get<Story>(`/api${base}/story${queryString(filterValues(FIELDS, params))}`);
    } catch (err) {
      status.textContent = err instanceof ApiError ? err.message : String(err);
      status.className = 'status error';
      return;
    }
    const who = story.identity;
    status.textContent = `${story.entries.length} entries, ${story.sessions} sessions, from ${time(story.window.since)} to ${story.window.until ? time(story.window.until) : 'now'}${story.truncated ? ' (more: narrow the window)' : ''}.`;
    append(
      body,
      facts([
        ['Identity', `${who.name}${who.exists ? '' : ' (deleted)'}`],
        ['Kind', who.kind ?? '—'],
        ['Owner', who.owner ? identityLink(who.owner) : '—'],
        ['Roles', who.roles.join(', ') || '—'],
        ['Bots owned', who.bots.length ? h('span', {}, ...who.bots.flatMap((bot, i) => [i ? ', ' : '', identityLink(bot)])) : '—'],
        ['Audit chain head', story.head ? `#${story.head.seq} ${story.head.hash.slice(0, 16)}…` : '—'],
        ['You may see', [story.rights.sessions && 'sessions', story.rights.statements && 'statements', story.rights.history && 'history'].filter(Boolean).join(', ')],
      ]),
      who.credentials.length
        ? h(
            'section',
            {},
            h('h2', {}, 'Credentials and the approvals behind them'),
            table(
              ['Token', 'Created', 'Valid', 'Access request', 'Approvals'],
              who.credentials.map((c) => [
                h('code', {}, c.token_id),
                `${time(c.created_at)} by ${c.created_by}`,
                c.revoked_at ? `revoked ${time(c.revoked_at)}` : c.expires_at ? `until ${time(c.expires_at)}` : 'no expiry',
                c.request ? h('a', { href: `/requests/${encodeURIComponent(c.request.id)}`, 'data-nav': true }, `${c.request.id}${c.request.ticket ? ` (${c.request.ticket})` : ''}`) : '—',
                c.request ? c.request.approvals.map((a) => `${a.decision}d by ${a.approver} ${time(a.at)}`).join('; ') || 'none' : '—',
              ]),
              { testid: 'credentials' },
            ),
          )
        : null,
      h('h2', {}, 'Timeline'),
      table(
        ['Time', 'What', 'Actor', 'Details', 'Evidence'],
        story.entries.map((entry) => [
          time(entry.time),
          h('code', { class: entry.session_id && !entry.kind.startsWith('session.') ? 'inside' : null }, entry.kind),
          entry.actor ? identityLink(entry.actor) : '—',
          h('pre', {}, entry.summary),
          evidence(entry, audit),
        ]),
        { testid: 'story', empty: 'Nothing in this window.' },
      ),
    );
  })();
  return () => undefined;
}

/** Links to what proves the entry: replay, statements, request, audit event. */
function evidence(entry: StoryEntry, audit: boolean): Child {
  const links: Child[] = [];
  const link = (href: string, label: string) => h('a', { href, 'data-nav': true }, label);
  if (entry.session_id && entry.kind !== 'access.deny') {
    links.push(link(`/sessions/${encodeURIComponent(entry.session_id)}`, entry.recording ? `replay ${entry.recording.file}` : `session ${entry.session_id}`));
  }
  if (entry.query || (entry.kind === 'session.end' && entry.protocol === 'postgres')) {
    links.push(link(`/queries?session=${encodeURIComponent(entry.session_id!)}`, entry.query ? `statement #${entry.query.seq}` : 'statements'));
  }
  if (entry.kube_request) links.push(link(`/kube-requests?session=${encodeURIComponent(entry.session_id!)}`, `request #${entry.kube_request.seq}`));
  if (entry.request_id) links.push(link(`/requests/${encodeURIComponent(entry.request_id)}`, entry.request_id));
  if (entry.ticket) links.push(`ticket ${entry.ticket}`);
  for (const seq of entry.audit_seqs) links.push(audit ? link(`/audit?category=all&seq=${seq}`, `audit #${seq}`) : `audit #${seq}`);
  return h('span', { class: 'evidence' }, ...links.flatMap((item, i) => (i ? [' · ', item] : [item])));
}
