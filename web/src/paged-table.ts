import { get, queryString } from './api.js';
import { append, h } from './dom.js';

export interface PagedTableOptions<T> {
  /** API path answering `{ items, nextCursor }`, e.g. `/api/sessions`. */
  path: string;
  /** The page's filter values (the cursor is added per page). */
  filter: Record<string, string | undefined>;
  /** Plural noun for the status line: "sessions", "events", "statements". */
  noun: string;
  headers: string[];
  attributes: Record<string, string>;
  row: (item: T) => HTMLElement;
}

/**
 * A table filled a page at a time from a cursor-paged API, with a status line and a
 * "Load more" button shown only while the API says more is available. Starts loading at once.
 */
export function pagedTable<T>(options: PagedTableOptions<T>): HTMLElement[] {
  const body = h('tbody', {});
  const status = h('p', { class: 'status' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  let cursor: string | null = null;

  const load = async () => {
    status.textContent = 'Loading…';
    const query = queryString({ ...options.filter, ...(cursor ? { cursor } : {}) });
    try {
      const page = await get<{ items: T[]; nextCursor: string | null }>(`${options.path}${query}`);
      for (const item of page.items) append(body, options.row(item));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      const shown = body.childElementCount;
      status.textContent = shown === 0 ? `No ${options.noun} match.` : `${shown} ${options.noun} shown${cursor ? ' (more available)' : ''}.`;
    } catch (err) {
      status.textContent = (err as Error).message;
      status.className = 'status error';
    }
  };
  more.addEventListener('click', () => void load());
  void load();

  const table = h('table', options.attributes, h('thead', {}, h('tr', {}, ...options.headers.map((title) => h('th', {}, title)))), body);
  return [table, status, more];
}
