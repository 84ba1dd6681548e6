/**
 * Role target selectors. Every key of the selector must match the target's labels:
 * - `{"*": "*"}` matches every target;
 * - a value `"*"` matches any value of that label (the label must exist);
 * - a value with `*` inside is a glob (`web-*`); a list matches any of its entries.
 * Each target also carries the implicit labels `name` and `protocol`, so a role can select
 * `name: web1` or `protocol: ssh` without declaring labels.
 */
export type Selector = Record<string, string | string[]>;

export function targetLabels(target: { name: string; protocol: string; labels: Record<string, string> }): Record<string, string> {
  return { name: target.name, protocol: target.protocol, ...target.labels };
}

export function selectorMatches(selector: Selector, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([key, wanted]) => {
    if (key === '*') return asList(wanted).includes('*');
    const actual = labels[key];
    if (actual === undefined) return false;
    return asList(wanted).some((pattern) => globMatches(pattern, actual));
  });
}

function asList(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function globMatches(pattern: string, text: string): boolean {
  if (!pattern.includes('*')) return pattern === text;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
  return regex.test(text);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
