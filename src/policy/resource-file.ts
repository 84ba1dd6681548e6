import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { PolicyError } from './errors.js';
import {
  nameIsValid,
  RESOURCE_KINDS,
  SPEC_SCHEMAS,
  type ResourceDocument,
  type ResourceKind,
} from './resource-schemas.js';

export interface SourcedDocument {
  document: ResourceDocument;
  /** 1-based position of the document in its file. */
  index: number;
  source: string;
}

/**
 * Parses a multi-document YAML file of resources. The first problem found is thrown as a
 * PolicyError naming the file, the document index and the field.
 */
export function parseResourceFile(text: string, source: string): SourcedDocument[] {
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(documents)) {
    throw new PolicyError('invalid_resource', `${source}: not a YAML document stream`, { source });
  }
  const out: SourcedDocument[] = [];
  const seen = new Map<string, number>();
  let index = 0;
  for (const doc of documents) {
    index += 1;
    const fail = (message: string): never => {
      throw new PolicyError('invalid_resource', `${source}: document ${index}: ${message}`, { source, documentIndex: index });
    };
    if (doc.errors.length > 0) fail(`invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) fail('expected a mapping with kind, name and spec');
    const record = value as Record<string, unknown>;
    const unknownTop = Object.keys(record).filter((key) => !['kind', 'name', 'spec'].includes(key));
    if (unknownTop.length) fail(`unknown field ${unknownTop.map((key) => `"${key}"`).join(', ')} (a resource has kind, name and spec)`);
    const kind = record.kind;
    if (typeof kind !== 'string' || !(RESOURCE_KINDS as readonly string[]).includes(kind)) {
      throw new PolicyError(
        'unknown_kind',
        `${source}: document ${index}: unknown kind ${JSON.stringify(kind ?? null)} (expected one of ${RESOURCE_KINDS.join(', ')})`,
        { source, documentIndex: index },
      );
    }
    const name = record.name;
    if (typeof name !== 'string' || !nameIsValid(kind as ResourceKind, name)) {
      fail(`${kind}: invalid or missing name ${JSON.stringify(name ?? null)}`);
    }
    const where = `${kind} "${name as string}"`;
    const key = `${kind}/${name as string}`;
    if (seen.has(key)) fail(`${where} is declared twice (first in document ${seen.get(key)})`);
    seen.set(key, index);
    const schema = SPEC_SCHEMAS[kind as ResourceKind] as z.ZodType;
    const parsed = schema.safeParse(record.spec ?? {});
    if (!parsed.success) fail(`${where}: ${describeIssue(parsed.error.issues[0]!)}`);
    out.push({
      document: { kind, name, spec: parsed.data } as ResourceDocument,
      index,
      source,
    });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = ['spec', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return `${path}: unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${path}: expected one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${path}: ${issue.message}`;
}
