/**
 * The only way the viewer builds DOM: elements with attributes and text nodes. Recorded
 * content (terminal output, SQL, audit data) is only ever passed as text, never parsed as
 * HTML; there is no innerHTML anywhere in the viewer (eslint forbids it).
 */
export type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in element) (element as HTMLInputElement).value = String(value);
    else if (typeof value !== 'function') element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

/** A definition list of label → value rows (values as text). */
export function facts(rows: Array<[string, Child]>): HTMLElement {
  const list = h('dl', { class: 'facts' });
  for (const [label, value] of rows) append(list, h('dt', {}, label), h('dd', {}, value ?? '—'));
  return list;
}

export function table(headers: string[], rows: Child[][], options: { empty?: string; testid?: string } = {}): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, options.empty ?? 'Nothing here.');
  return h(
    'table',
    { 'data-testid': options.testid },
    h('thead', {}, h('tr', {}, ...headers.map((title) => h('th', {}, title)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
  );
}
