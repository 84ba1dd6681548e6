import { redactSecrets } from '../policy/diff.js';
import { PolicyError } from '../policy/errors.js';
import { parseResourceFile, type SourcedDocument } from '../policy/resource-file.js';
import { planApply, planDelete, type ChangeSummary } from '../policy/resource-plan.js';
import { RESOURCE_KINDS, SPEC_SCHEMAS, type ResourceKind } from '../policy/resource-schemas.js';
import { StoreError } from '../store/errors.js';
import type { ResourcePlan, ResourceSnapshot } from '../store/repositories/resources.js';
import { optionalString, stringArg } from './args.js';
import type { Operation, OperationContext } from './context.js';
import { AdminError } from './errors.js';

const CONFLICT_RETRIES = 5;

/** Plans against a fresh snapshot and applies; replans if another change landed meanwhile. */
async function applyPlanned(
  context: OperationContext,
  makePlan: (snapshot: ResourceSnapshot) => { plan: ResourcePlan; changes: ChangeSummary[] },
  dryRun: boolean,
): Promise<{ changes: ChangeSummary[]; revision: number; applied: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await context.store.resources.snapshot();
    const { plan, changes } = makePlan(snapshot);
    const effective = changes.some((change) => change.action !== 'unchanged');
    if (dryRun || !effective) return { changes, revision: snapshot.revision, applied: false };
    try {
      const { revision } = await context.store.resources.apply(plan);
      return { changes, revision, applied: true };
    } catch (err) {
      if (err instanceof StoreError && err.code === 'conflict' && attempt < CONFLICT_RETRIES) continue;
      throw err;
    }
  }
}

function filesArg(args: Record<string, unknown>): Array<{ source: string; text: string }> {
  const files = args.files;
  if (!Array.isArray(files) || files.length === 0) throw new AdminError('invalid_argument', 'files: at least one resources file is required');
  return files.map((file: { source?: unknown; text?: unknown }) => {
    if (typeof file?.text !== 'string') throw new AdminError('invalid_argument', 'files: each file needs its text');
    return { source: typeof file.source === 'string' ? file.source : '<stdin>', text: file.text };
  });
}

/** Documents of several files, as one change; a resource declared in two files is an error. */
function parseResourceFiles(files: Array<{ source: string; text: string }>): SourcedDocument[] {
  const documents = files.flatMap((file) => parseResourceFile(file.text, file.source));
  const seen = new Map<string, SourcedDocument>();
  for (const doc of documents) {
    const key = `${doc.document.kind}/${doc.document.name}`;
    const first = seen.get(key);
    if (first) {
      throw new PolicyError(
        'invalid_resource',
        `${doc.source}: document ${doc.index}: ${doc.document.kind} "${doc.document.name}" is also declared in ${first.source} document ${first.index}`,
        { source: doc.source, documentIndex: doc.index },
      );
    }
    seen.set(key, doc);
  }
  return documents;
}

/** jsonb reorders keys; parsing through the schema gives them back in the documented order. */
function inDeclaredOrder(kind: ResourceKind, spec: Record<string, unknown>): Record<string, unknown> {
  const parsed = SPEC_SCHEMAS[kind].safeParse(spec);
  return parsed.success ? (parsed.data as Record<string, unknown>) : spec;
}

function kindArg(args: Record<string, unknown>): ResourceKind {
  const kind = stringArg(args, 'kind').replace(/s$/, '');
  if (!(RESOURCE_KINDS as readonly string[]).includes(kind)) {
    throw new PolicyError('unknown_kind', `unknown kind "${String(args.kind)}" (expected one of ${RESOURCE_KINDS.join(', ')})`);
  }
  return kind as ResourceKind;
}

export const resourceOperations: Record<string, Operation> = {
  async apply(context, args) {
    const documents = parseResourceFiles(filesArg(args));
    const reason = optionalString(args, 'reason');
    return applyPlanned(
      context,
      (snapshot) => planApply(snapshot, documents, { actor: context.actor, ...(reason ? { reason } : {}), prune: args.prune === true }),
      args.dryRun === true,
    );
  },

  async delete(context, args) {
    const kind = kindArg(args);
    const name = stringArg(args, 'name');
    const reason = optionalString(args, 'reason');
    return applyPlanned(
      context,
      (snapshot) => planDelete(snapshot, kind, name, { actor: context.actor, ...(reason ? { reason } : {}) }),
      false,
    );
  },

  /** Resources as documents (`kind`, `name`, `spec`), ready to be applied again. */
  async get(context, args) {
    const kind = kindArg(args);
    const name = optionalString(args, 'name');
    const snapshot = await context.store.resources.snapshot();
    const rows: Array<{ name: string; spec: Record<string, unknown> }> =
      kind === 'target' ? snapshot.targets : kind === 'role' ? snapshot.roles : snapshot.identities;
    const selected = name ? rows.filter((row) => row.name === name) : rows;
    if (name && selected.length === 0) throw new PolicyError('not_found', `no ${kind} named "${name}"`);
    return selected.map((row) => ({ kind, name: row.name, spec: redactSecrets(inDeclaredOrder(kind, row.spec)) }));
  },
};
