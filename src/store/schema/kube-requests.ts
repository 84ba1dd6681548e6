import { bigint, bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Every Kubernetes API request that reached the gateway with an identity, allowed or
 * refused: who (identity), in which session, on which target, what (the Kubernetes verb,
 * API group, resource, subresource, namespace, name as kube-apiserver derives them, and the
 * request path), as whom upstream (the impersonated user and groups), and how it ended
 * (response code, duration, bytes). A long-running request (watch, `logs -f`, exec,
 * attach, port-forward) is written when it starts (code and duration still null) and
 * completed when it ends.
 */
export const kubeRequests = pgTable(
  'kube_requests',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    /** The request's number in its session (the key its completion is written by). */
    seq: integer('seq').notNull(),
    identityId: text('identity_id').notNull(),
    identityName: text('identity_name').notNull(),
    target: text('target').notNull(),
    method: text('method').notNull(),
    verb: text('verb').notNull(),
    apiGroup: text('api_group').notNull(),
    apiVersion: text('api_version').notNull(),
    resource: text('resource').notNull(),
    subresource: text('subresource').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    /** Path and query as the client sent them, after the `/k8s/<target>` prefix. */
    path: text('path').notNull(),
    decision: text('decision').$type<'allowed' | 'denied'>().notNull(),
    /** Why it was refused, or how it failed at the gateway. */
    reason: text('reason'),
    kubeUser: text('kube_user'),
    kubeGroups: jsonb('kube_groups').$type<string[]>(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The HTTP status answered (101 for an upgrade); null while the request runs. */
    code: integer('code'),
    durationMs: doublePrecision('duration_ms'),
    requestBytes: bigint('request_bytes', { mode: 'number' }),
    responseBytes: bigint('response_bytes', { mode: 'number' }),
    clientAddr: text('client_addr'),
    userAgent: text('user_agent'),
    /** exec/attach: command, container, tty; port-forward: ports; upgrades: the subprotocol. */
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  // Written in batches on the hot path of every API request: as few indexes as the
  // readers need (per identity, per session, time as a BRIN, the viewer's own scope).
  (table) => [
    index('kube_requests_identity_idx').on(table.identityName, table.startedAt),
    index('kube_requests_session_idx').on(table.sessionId, table.seq),
    index('kube_requests_started_brin').using('brin', table.startedAt),
    index('kube_requests_identity_id_idx').on(table.identityId, table.id),
  ],
);
