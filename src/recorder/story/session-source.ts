import { basename } from 'node:path';
import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { SessionRow } from '../../store/repositories/sessions.js';
import { storyEntry, type StoryEntry, type StorySource } from './story-model.js';

/**
 * Every session overlapping the window, whole, on every protocol: where it went, as whom,
 * from where, through which gateway, under which approval; and how it ended, after how
 * long, with what recorded. Start and end are two entries (other things happen between).
 */
export const sessionSource: StorySource = {
  name: 'sessions',
  async entries(context) {
    const entries: StoryEntry[] = [];
    for (const { session } of context.sessions) {
      const events = context.sessionEvents.get(session.id) ?? [];
      const seqs = (...types: string[]) => events.filter((event) => types.includes(event.type)).map((event) => event.seq);
      const common = {
        identity: session.identityName,
        protocol: session.protocol,
        target: session.target,
        session_id: session.id,
        request_id: session.requestId,
        grant_id: session.grantId,
        ticket: session.ticket,
      };
      entries.push(
        storyEntry({
          ...common,
          time: session.startedAt.toISOString(),
          kind: 'session.start',
          actor: session.identityName,
          summary: startSummary(session),
          audit_seqs: seqs('access.allow', 'session.start'),
          details: {
            identity_kind: session.identityKind,
            owner: session.identityOwner,
            credential: session.credentialId,
            target_address: session.targetAddress,
            login: session.login,
            database: session.database,
            client_addr: session.clientAddr,
            node: session.node,
            approval: approvalOf(events),
            expires_at: session.expiresAt?.toISOString() ?? null,
            protocol_details: session.details,
          },
        }),
      );
      if (!session.endedAt) continue;
      const end = events.find((event) => event.type === 'session.end' || event.type === 'session.interrupted');
      entries.push(
        storyEntry({
          ...common,
          time: session.endedAt.toISOString(),
          kind: session.state === 'interrupted' ? 'session.interrupted' : 'session.end',
          actor: end?.actor ?? session.identityName,
          summary: endSummary(session),
          recording: session.recordingPath ? { file: basename(session.recordingPath), sha256: session.recordingSha256 } : null,
          audit_seqs: end ? [end.seq] : [],
          details: { state: session.state, end_reason: session.endReason, duration_ms: session.endedAt.getTime() - session.startedAt.getTime(), stats: session.stats },
        }),
      );
    }
    return entries;
  },
};

function startSummary(session: SessionRow): string {
  // A database session's login is its database user.
  const as =
    session.protocol === 'postgres'
      ? ` as database user ${session.login ?? '?'}${session.database ? ` in database ${session.database}` : ''}`
      : session.login
        ? ` as ${session.login}`
        : '';
  const from = session.clientAddr ? ` from ${session.clientAddr}` : '';
  const under = session.requestId ? ` under request ${session.requestId}${session.ticket ? ` (${session.ticket})` : ''}` : '';
  const who = session.identityKind === 'bot' ? ` (bot of ${session.identityOwner ?? '?'})` : '';
  const live = session.state === 'live' ? ' — still live' : '';
  return `${session.protocol} session ${session.id} on ${session.target}${as}${from} via ${session.node}${who}, credential ${session.credentialId}${under}${live}`;
}

function endSummary(session: SessionRow): string {
  const seconds = Math.round((session.endedAt!.getTime() - session.startedAt.getTime()) / 100) / 10;
  const stats = session.stats as { queries?: { statements?: number } };
  const count = stats.queries?.statements;
  const statements = typeof count === 'number' ? `, ${count} ${count === 1 ? 'statement' : 'statements'}` : '';
  const verb = session.state === 'interrupted' ? 'interrupted' : 'ended';
  return `${session.protocol} session ${session.id} ${verb} after ${seconds}s${statements}: ${session.endReason ?? 'no reason recorded'}`;
}

/** The approvers and validity of the grant a session ran under, from its start or allow event. */
function approvalOf(events: ChainedAuditEvent[]): unknown {
  for (const event of events) {
    const approval = (event.data as { approval?: unknown }).approval;
    if (approval) return approval;
  }
  return null;
}
