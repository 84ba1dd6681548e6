import { and, asc, desc, eq, gt, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db.js';
import { kubeRequestLine, type KubeRequestRow, type NewKubeRequestRow } from '../kube-request-lines.js';
import { kubeRequests } from '../schema/index.js';

export type { KubeRequestRow, NewKubeRequestRow } from '../kube-request-lines.js';

export interface KubeRequestFilter {
  identity?: string;
  sessionId?: string;
  target?: string;
  verb?: string;
  resource?: string;
  namespace?: string;
  decision?: 'allowed' | 'denied';
  since?: Date;
  until?: Date;
  /** Readers restricted to some identities (the viewer's "own" scope); null or absent: all. */
  identityIds?: string[] | null;
  /** Keyset, oldest first: ids strictly above this one. */
  afterId?: number;
  /** Keyset, newest first: ids strictly below this one. */
  beforeId?: number;
  /** Exports: rows up to this id (the newest when the export began). */
  throughId?: number;
  order?: 'asc' | 'desc';
  limit?: number;
}

const MAX_PAGE = 10_000;

export function kubeRequestRepository(db: Db) {
  return {
    /**
     * The log's hot path: rows given as JSON arrays of request lines (kube-request-lines.ts),
     * and the outcomes of rows written when their request started — both in one transaction,
     * so a retried batch never inserts a row twice.
     */
    async writeBatch(inserts: string | null, completions: string | null): Promise<void> {
      if (!completions) {
        if (inserts) await insertLines(db, inserts);
        return;
      }
      await db.transaction(async (tx) => {
        if (inserts) await insertLines(tx as unknown as Db, inserts);
        await tx.execute(sql`
          update kube_requests k set code = (e->>2)::integer, duration_ms = (e->>3)::float8, request_bytes = (e->>4)::bigint,
            response_bytes = (e->>5)::bigint, reason = coalesce(e->>6, k.reason),
            details = case when e->7 = 'null'::jsonb then k.details else coalesce(k.details, '{}'::jsonb) || (e->7) end
          from jsonb_array_elements(${completions}::jsonb) as e
          where k.session_id = e->>0 and k.seq = (e->>1)::integer`);
      });
    },

    /** Inserts rows given as objects (tools and tests; the log uses writeBatch). */
    async insert(rows: NewKubeRequestRow[]): Promise<void> {
      for (let i = 0; i < rows.length; i += 5000) await insertLines(db, `[${rows.slice(i, i + 5000).map(kubeRequestLine).join(',')}]`);
    },

    /** One page of requests matching the filter, by id (oldest first unless `order: 'desc'`). */
    async list(filter: KubeRequestFilter = {}): Promise<KubeRequestRow[]> {
      return db
        .select()
        .from(kubeRequests)
        .where(whereOf(filter))
        .orderBy(filter.order === 'desc' ? desc(kubeRequests.id) : asc(kubeRequests.id))
        .limit(Math.min(filter.limit ?? 1000, MAX_PAGE));
    },

    /** The newest id now: an export covers rows up to it and no later arrivals. */
    async lastId(): Promise<number> {
      const [row] = await db.select({ id: sql<number | null>`max(${kubeRequests.id})` }).from(kubeRequests);
      return Number(row?.id ?? 0);
    },
  };
}

async function insertLines(db: Db, lines: string): Promise<void> {
  await db.execute(sql`
    insert into kube_requests (session_id, seq, identity_id, identity_name, target, method, verb, api_group, api_version,
      resource, subresource, namespace, name, path, decision, reason, kube_user, kube_groups, started_at, code,
      duration_ms, request_bytes, response_bytes, client_addr, user_agent, details)
    select e->>0, (e->>1)::integer, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8, e->>9, e->>10, e->>11, e->>12,
      e->>13, e->>14, e->>15, e->>16, nullif(e->17, 'null'::jsonb), to_timestamp((e->>18)::float8 / 1000),
      (e->>19)::integer, (e->>20)::float8, (e->>21)::bigint, (e->>22)::bigint, e->>23, e->>24, nullif(e->25, 'null'::jsonb)
    from jsonb_array_elements(${lines}::jsonb) as e`);
}

function whereOf(filter: KubeRequestFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.identityIds) conditions.push(filter.identityIds.length ? inArray(kubeRequests.identityId, filter.identityIds) : sql`false`);
  if (filter.identity) conditions.push(eq(kubeRequests.identityName, filter.identity));
  if (filter.sessionId) conditions.push(eq(kubeRequests.sessionId, filter.sessionId));
  if (filter.target) conditions.push(eq(kubeRequests.target, filter.target));
  if (filter.verb) conditions.push(eq(kubeRequests.verb, filter.verb));
  if (filter.resource) conditions.push(resourceCondition(filter.resource));
  if (filter.namespace) conditions.push(eq(kubeRequests.namespace, filter.namespace));
  if (filter.decision) conditions.push(eq(kubeRequests.decision, filter.decision));
  if (filter.since) conditions.push(gte(kubeRequests.startedAt, filter.since));
  if (filter.until) conditions.push(lte(kubeRequests.startedAt, filter.until));
  if (filter.afterId !== undefined) conditions.push(gt(kubeRequests.id, filter.afterId));
  if (filter.beforeId !== undefined) conditions.push(lt(kubeRequests.id, filter.beforeId));
  if (filter.throughId !== undefined) conditions.push(lte(kubeRequests.id, filter.throughId));
  return conditions.length ? and(...conditions) : undefined;
}

/** `pods` matches pods and its subresources; `pods/exec` only that subresource. */
function resourceCondition(resource: string): SQL {
  const slash = resource.indexOf('/');
  if (slash < 0) return eq(kubeRequests.resource, resource);
  return and(eq(kubeRequests.resource, resource.slice(0, slash)), eq(kubeRequests.subresource, resource.slice(slash + 1)))!;
}
