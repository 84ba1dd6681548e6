import { h } from './dom.js';

/** "Download exactly this filtered set": CSV and JSON lines links to an export endpoint with the page's filter. */
export function exportLinks(path: string, filter: string): HTMLElement {
  const url = (format: string) => `${path}${filter ? `${filter}&` : '?'}format=${format}`;
  return h(
    'p',
    { class: 'exports' },
    'Download exactly this filtered set: ',
    h('a', { href: url('csv'), download: '', class: 'button', 'data-testid': 'export-csv' }, 'CSV'),
    ' ',
    h('a', { href: url('jsonl'), download: '', class: 'button', 'data-testid': 'export-jsonl' }, 'JSON lines'),
  );
}
