import type { StoryEntry } from '../../recorder/story/story-model.js';

/** Entries inside one of the story's sessions (under its start), shown indented. */
export function insideSession(entry: StoryEntry, sessions: Set<string>): boolean {
  return entry.session_id !== null && sessions.has(entry.session_id) && !entry.kind.startsWith('session.');
}

/** The sessions a story shows (their start entries). */
export function sessionsShown(entries: StoryEntry[]): Set<string> {
  return new Set(entries.filter((entry) => entry.kind === 'session.start').map((entry) => entry.session_id!));
}

/** The ids that lead to an entry's evidence, in one short line: session, channel, recording, request, grant, statement, audit events. */
export function evidenceOf(entry: StoryEntry): string {
  const parts: string[] = [];
  if (entry.session_id) parts.push(entry.session_id);
  if (entry.channel_id !== null) parts.push(`channel ${entry.channel_id}`);
  if (entry.recording) parts.push(`recording ${entry.recording.file}`);
  if (entry.request_id) parts.push(entry.request_id);
  if (entry.grant_id) parts.push(entry.grant_id);
  if (entry.ticket) parts.push(`ticket ${entry.ticket}`);
  if (entry.query) parts.push(`statement #${entry.query.seq} (query ${entry.query.id})`);
  if (entry.kube_request) parts.push(`request #${entry.kube_request.seq} (kube-request ${entry.kube_request.id})`);
  if (entry.audit_seqs.length) parts.push(`audit ${entry.audit_seqs.map((seq) => `#${seq}`).join(',')}`);
  return parts.join(' ');
}

export function storyTime(iso: string): string {
  return iso.replace('T', ' ');
}
