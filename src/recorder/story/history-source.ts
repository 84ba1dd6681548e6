import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { AuditFilter } from '../../store/repositories/audit.js';
import { describeEvent, protocolOfEvent } from './describe-event.js';
import { SESSION_EVENT_TYPES, storyEntry, type StoryContext, type StoryEntry, type StorySource } from './story-model.js';

/**
 * The audit history: every event in the window about the identity (permission changes,
 * requests and grants, tokens, denials, failed authentications claiming it …) or done by it
 * (approving someone else's request, viewing a recording …), and every event of its
 * sessions. A session's start, end and allow events are carried by the session's own
 * entries instead.
 */
export const historySource: StorySource = {
  name: 'history',
  async entries(context) {
    const bySeq = new Map<number, ChainedAuditEvent>();
    const window: AuditFilter = { ...(context.window.since ? { since: context.window.since } : {}), ...(context.window.until ? { until: context.window.until } : {}) };
    const filters: AuditFilter[] = context.identity ? [{ ...window, identity: context.identity }, { ...window, actor: context.identity }] : [window];
    for (const filter of filters) for (const event of await allEvents(context, filter)) bySeq.set(event.seq, event);
    for (const events of context.sessionEvents.values()) for (const event of events) bySeq.set(event.seq, event);
    const entries: StoryEntry[] = [];
    for (const event of bySeq.values()) {
      if (event.sessionId && context.sessionEvents.has(event.sessionId) && SESSION_EVENT_TYPES.includes(event.type)) continue;
      entries.push(entryOf(event));
    }
    return entries;
  },
};

async function allEvents(context: StoryContext, filter: AuditFilter): Promise<ChainedAuditEvent[]> {
  const events: ChainedAuditEvent[] = [];
  let afterSeq = Number.MIN_SAFE_INTEGER;
  while (true) {
    const page = await context.store.audit.list({ ...filter, afterSeq, order: 'asc', limit: 10_000 });
    events.push(...page);
    if (page.length < 10_000) return events;
    afterSeq = page.at(-1)!.seq;
  }
}

function entryOf(event: ChainedAuditEvent): StoryEntry {
  const data = event.data as Record<string, unknown>;
  const approval = data.approval as { request?: string; grant?: string; ticket?: string } | undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return storyEntry({
    time: event.time,
    kind: event.type,
    identity: event.identity,
    actor: event.actor,
    protocol: protocolOfEvent(event),
    target: event.target,
    summary: describeEvent(event),
    session_id: event.sessionId,
    request_id: text(data.request) ?? text(approval?.request),
    grant_id: text(data.grant) ?? text(approval?.grant),
    ticket: text(data.ticket) ?? text(approval?.ticket),
    audit_seqs: [event.seq],
    details: { data: event.data },
  });
}
