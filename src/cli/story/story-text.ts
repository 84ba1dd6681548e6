import type { Story } from '../../recorder/story/story-model.js';
import { escapeControls } from '../safe-text.js';
import { formatTable } from '../table.js';
import { evidenceOf, insideSession, sessionsShown, storyTime } from './story-evidence.js';

/** The story for a terminal: who, the window, the credentials and approvals, then one line per entry. */
export function storyText(story: Story): string {
  const lines: string[] = [];
  const who = story.identity;
  const window = `${story.window.since ?? 'the beginning'} to ${story.window.until ?? 'now'}`;
  if (who) {
    const facts = [who.kind ?? 'unknown kind', who.owner ? `owner ${who.owner}` : null, `roles ${who.roles.join(', ') || 'none'}`, who.bots.length ? `owns bots ${who.bots.join(', ')}` : null, who.exists ? null : 'deleted since'];
    lines.push(`story of ${who.name} (${facts.filter(Boolean).join('; ')}), ${window}`);
    for (const credential of who.credentials) {
      const state = credential.revoked_at ? `revoked ${credential.revoked_at} by ${credential.revoked_by ?? '?'}` : credential.expires_at ? `expires ${credential.expires_at}` : 'never expires';
      const request = credential.request;
      const approved = request
        ? `; minted under request ${request.id}${request.ticket ? ` (${request.ticket})` : ''} asked by ${request.requested_by}, ${request.approvals.map((a) => `${a.decision}d by ${a.approver} at ${a.at}`).join(', ') || 'no answers'}${request.grant ? `, grant ${request.grant.id} ${request.grant.from} to ${request.grant.until} (${request.grant.state})` : ''}`
        : '';
      lines.push(`  token ${credential.token_id} created ${credential.created_at} by ${credential.created_by}, ${state}${approved}`);
    }
  } else {
    lines.push(`story of every identity, ${window}`);
  }
  lines.push(`${story.entries.length} entries, ${story.sessions} sessions; audit chain head ${story.head ? `seq ${story.head.seq} hash ${story.head.hash}` : 'none'}`);
  if (story.truncated) lines.push('(more entries than shown: narrow the window)');
  const header = lines.map(escapeControls).join('\n');
  const shown = sessionsShown(story.entries);
  const table = formatTable(
    ['TIME', 'WHAT', 'ACTOR', 'EVIDENCE', 'DETAILS'],
    story.entries.map((entry) => [storyTime(entry.time), `${insideSession(entry, shown) ? '  ' : ''}${entry.kind}`, entry.actor, evidenceOf(entry), entry.summary]),
  );
  return `${header}\n\n${story.entries.length ? table : '(nothing in this window)\n'}`;
}
