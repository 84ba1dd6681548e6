import type { KubeObject } from './resources.js';
import { badRequest } from './status.js';

/** labelSelector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, joined by commas. */
export function labelSelectorMatcher(selector: string | null): (object: KubeObject) => boolean {
  if (!selector) return () => true;
  const requirements = splitTopLevel(selector).map((term) => parseRequirement(term.trim()));
  return (object) => {
    const labels = object.metadata.labels ?? {};
    return requirements.every((matches) => matches(labels));
  };
}

/** fieldSelector on the fields every object has (metadata.name, metadata.namespace) and a pod's status.phase / spec.nodeName. */
export function fieldSelectorMatcher(selector: string | null): (object: KubeObject) => boolean {
  if (!selector) return () => true;
  const terms = selector.split(',').map((term) => {
    const match = /^([^!=]+)(==|!=|=)(.*)$/.exec(term);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    return { field: match[1]!, negate: match[2] === '!=', value: match[3]! };
  });
  return (object) =>
    terms.every(({ field, negate, value }) => {
      const actual = fieldValue(object, field);
      return negate ? actual !== value : actual === value;
    });
}

function fieldValue(object: KubeObject, field: string): string {
  let node: unknown = object;
  for (const part of field.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  return node === undefined || node === null ? '' : String(node);
}

function parseRequirement(term: string): (labels: Record<string, string>) => boolean {
  let match = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (match) {
    const [, key, operator, list] = match as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((value) => value.trim()));
    return operator === 'in' ? (labels) => key in labels && values.has(labels[key]!) : (labels) => !(key in labels) || !values.has(labels[key]!);
  }
  match = /^([^\s!=]+)\s*(==|!=|=)\s*(\S*)$/.exec(term);
  if (match) {
    const [, key, operator, value] = match as unknown as [string, string, string, string];
    return operator === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  match = /^(!?)([^\s!=(),]+)$/.exec(term);
  if (match) {
    const [, not, key] = match as unknown as [string, string, string];
    return not ? (labels) => !(key in labels) : (labels) => key in labels;
  }
  throw badRequest(`unable to parse requirement: ${term}`);
}

function splitTopLevel(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === '(') depth++;
    else if (selector[i] === ')') depth--;
    else if (selector[i] === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out;
}
