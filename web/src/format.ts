import { h } from './dom.js';

export function time(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end) return '—';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** An identity's name, linking to its story; actors that are not identities (`os:…`, `gateway:…`) stay text. */
export function identityLink(name: string | null | undefined): HTMLElement | string {
  if (!name) return '—';
  if (name.includes(':')) return name;
  return h('a', { href: `/identities/${encodeURIComponent(name)}`, 'data-nav': true, class: 'identity' }, name);
}
