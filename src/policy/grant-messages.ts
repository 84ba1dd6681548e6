import { formatDuration } from '../core/duration.js';

/** The request a grant came from, as operators know it: its id and ticket. */
export interface GrantName {
  request: string;
  ticket: string | null;
}

function underRequest(grant: GrantName): string {
  return `access under request ${grant.request}${grant.ticket ? ` (${grant.ticket})` : ''}`;
}

/**
 * What a session under a grant is told when the grant ends — the same words whether the
 * session's own deadline or a re-decision on another gateway's `grant.end` gets there first.
 */
export function grantEndMessage(grant: GrantName, end: { kind: 'expired'; at: Date } | { kind: 'revoked'; by: string; reason: string }): string {
  return end.kind === 'expired'
    ? `${underRequest(grant)} expired at ${end.at.toISOString()}`
    : `${underRequest(grant)} was revoked by ${end.by}: ${end.reason}`;
}

/** The warning before a grant's end (SSH terminals show it as a `custos:` line). */
export function grantEndingSoonMessage(grant: GrantName, until: Date, now: Date): string {
  return `${underRequest(grant)} ends at ${until.toISOString()} (in ${formatDuration(Math.max(1, Math.round((until.getTime() - now.getTime()) / 1000)) * 1000)}); this session will be closed then`;
}
