import type { ChainedAuditEvent } from '../core/audit-chain.js';
import type { JsonObject } from '../core/canonical-json.js';
import { ocsfClassOf, type OcsfClass } from './ocsf.js';

export const AUDIT_RECORD_SCHEMA = 'custos.audit/1';

/**
 * One audit event as `custos audit ls --format jsonl`, the evidence bundle and the audit
 * stream write it: stable snake_case names, the chained fields exactly as hashed (so anyone
 * can recompute `hash` from the record), and where the event sits in OCSF. New fields may be
 * added; these keep their names and meaning while `schema` says `custos.audit/1`.
 */
export interface AuditRecord {
  schema: typeof AUDIT_RECORD_SCHEMA;
  seq: number;
  /** ISO 8601, UTC, milliseconds (microseconds when the store kept them): the hashed text. */
  time: string;
  type: string;
  /** Who did it: an identity name, `os:<user>@<host>`, `gateway:<node>`, `claimed:<name>`, `anonymous`. */
  actor: string;
  /** The identity the event is about (for auth.failure: the name claimed). */
  identity: string | null;
  session_id: string | null;
  target: string | null;
  data: JsonObject;
  prev_hash: string;
  hash: string;
  ocsf: OcsfClass;
}

export function auditRecord(event: ChainedAuditEvent): AuditRecord {
  return {
    schema: AUDIT_RECORD_SCHEMA,
    seq: event.seq,
    time: event.time,
    type: event.type,
    actor: event.actor,
    identity: event.identity,
    session_id: event.sessionId,
    target: event.target,
    data: event.data,
    prev_hash: event.prevHash,
    hash: event.hash,
    ocsf: ocsfClassOf(event.type),
  };
}

export function auditRecordLine(event: ChainedAuditEvent): string {
  return `${JSON.stringify(auditRecord(event))}\n`;
}

/** The chained event a record carries (for checking its hash offline); null if it is not one. */
export function eventOfRecord(value: unknown): ChainedAuditEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string';
  const textOrNull = (v: unknown) => v === null || typeof v === 'string';
  if (!Number.isSafeInteger(r.seq) || !text(r.time) || !text(r.type) || !text(r.actor) || !text(r.prev_hash) || !text(r.hash)) return null;
  if (!textOrNull(r.identity) || !textOrNull(r.session_id) || !textOrNull(r.target)) return null;
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) return null;
  return {
    seq: r.seq as number,
    time: r.time as string,
    type: r.type as string,
    actor: r.actor as string,
    identity: r.identity as string | null,
    sessionId: r.session_id as string | null,
    target: r.target as string | null,
    data: r.data as JsonObject,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}
