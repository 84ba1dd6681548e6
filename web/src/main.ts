import './style.css';
import { ApiError, currentViewer, get, post, setViewer, type Me } from './api.js';
import { append, clear, h } from './dom.js';
import { renderAudit } from './pages/audit.js';
import { renderKubeRequests } from './pages/kube-requests.js';
import { renderLogin } from './pages/login.js';
import { renderQueries } from './pages/queries.js';
import { renderRequests } from './pages/requests.js';
import { renderSession } from './pages/session.js';
import { renderSessions } from './pages/sessions.js';
import { navigate, onNavigate } from './router.js';

const root = document.getElementById('app')!;
let disposePage: (() => void) | null = null;


/** Internal links navigate without a reload. */
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-nav]');
  if (!link || event.defaultPrevented || (event as MouseEvent).button !== 0 || (event as MouseEvent).metaKey || (event as MouseEvent).ctrlKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href')!);
});
window.addEventListener('popstate', () => void render());

function nav(me: Me): HTMLElement {
  const here = location.pathname;
  const link = (path: string, label: string) => h('a', { href: path, 'data-nav': true, class: here.startsWith(path) ? 'active' : null }, label);
  return h(
    'header',
    { class: 'top' },
    h('span', { class: 'brand' }, 'Custos'),
    h(
      'nav',
      {},
      me.rights.sessions !== 'none' && link('/sessions', 'Sessions'),
      me.rights.queries !== 'none' && link('/queries', 'Queries'),
      me.rights.queries !== 'none' && link('/kube-requests', 'Kubernetes'),
      me.rights.audit && link('/audit', 'Audit'),
      link('/requests', 'Requests'),
    ),
    h(
      'span',
      { class: 'who' },
      h('span', { 'data-testid': 'whoami' }, `${me.identity.name}`),
      h('span', { class: 'rights' }, ` sessions: ${me.rights.sessions} · queries: ${me.rights.queries} · audit: ${me.rights.audit ? 'yes' : 'no'}`),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: async () => {
            await post('/api/logout').catch(() => undefined);
            setViewer(null);
            navigate('/login');
          },
        },
        'Sign out',
      ),
    ),
  );
}

async function render(): Promise<void> {
  disposePage?.();
  disposePage = null;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  if (path === '/login') {
    clear(root);
    append(root, renderLogin(async (viewer) => {
      setViewer(viewer);
      const next = params.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/sessions', true);
    }));
    return;
  }
  let me = currentViewer();
  if (!me) {
    try {
      me = await get<Me>('/api/me');
      setViewer(me);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        navigate(`/login?next=${encodeURIComponent(path + location.search)}`, true);
        return;
      }
      throw err;
    }
  }
  const main = h('main', {});
  clear(root);
  append(root, nav(me), main);
  const sessionMatch = /^\/sessions\/([^/]+)$/.exec(path);
  const requestMatch = /^\/requests(?:\/([^/]+))?$/.exec(path);
  if (path === '/' || path === '/sessions') disposePage = renderSessions(main, params);
  else if (sessionMatch) disposePage = renderSession(main, decodeURIComponent(sessionMatch[1]!));
  else if (path === '/queries') disposePage = renderQueries(main, params);
  else if (path === '/kube-requests') disposePage = renderKubeRequests(main, params);
  else if (path === '/audit') disposePage = renderAudit(main, params);
  else if (requestMatch) disposePage = renderRequests(main, params, requestMatch[1] ? decodeURIComponent(requestMatch[1]) : null);
  else append(main, h('p', {}, 'No such page.'));
}

onNavigate(() => void render());
void render();
