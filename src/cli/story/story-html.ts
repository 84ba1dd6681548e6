import type { Story, StoryEntry } from '../../recorder/story/story-model.js';
import { escapeControls } from '../safe-text.js';
import { evidenceOf, insideSession, sessionsShown, storyTime } from './story-evidence.js';

/**
 * The story as one HTML page an auditor opens offline: no script, no external asset (the
 * style is inline and the Content-Security-Policy forbids loading anything), and every
 * recorded value — statement text, typed commands, reasons, names — escaped twice over:
 * control characters shown as escapes, then HTML-escaped, so nothing recorded can become
 * markup.
 */
export function storyHtml(story: Story, options: { recordingHref?: (entry: StoryEntry) => string | null } = {}): string {
  const who = story.identity;
  const title = who ? `Custos story: ${who.name}` : 'Custos story: every identity';
  const facts: Array<[string, string]> = [
    ['Window', `${story.window.since ?? 'the beginning'} to ${story.window.until ?? 'now'}`],
    ...(who
      ? ([
          ['Identity', `${who.name}${who.exists ? '' : ' (deleted since)'}`],
          ['Kind', who.kind ?? 'unknown'],
          ['Owner', who.owner ?? '—'],
          ['Roles', who.roles.join(', ') || '—'],
          ['Bots owned', who.bots.join(', ') || '—'],
        ] as Array<[string, string]>)
      : []),
    ['Sessions', String(story.sessions)],
    ['Entries', `${story.entries.length}${story.truncated ? ' (truncated)' : ''}`],
    ['Audit chain head', story.head ? `seq ${story.head.seq} hash ${story.head.hash}` : 'none'],
    ['Generated', story.generated_at],
  ];
  const credentials = (who?.credentials ?? []).map(
    (c) =>
      `<tr><td>${text(c.token_id)}</td><td>${text(c.created_at)} by ${text(c.created_by)}</td><td>${text(c.revoked_at ? `revoked ${c.revoked_at} by ${c.revoked_by ?? '?'}` : (c.expires_at ?? 'never expires'))}</td><td>${
        c.request
          ? `${text(c.request.id)}${c.request.ticket ? ` (${text(c.request.ticket)})` : ''} asked by ${text(c.request.requested_by)}: ${text(c.request.reason)}<br>${c.request.approvals.map((a) => `${text(a.decision)}d by <b>${text(a.approver)}</b> at ${text(a.at)}${a.reason ? `: ${text(a.reason)}` : ''}`).join('<br>') || 'no answers'}`
          : '—'
      }</td></tr>`,
  );
  const shown = sessionsShown(story.entries);
  const rows = story.entries.map((entry) => {
    const href = options.recordingHref?.(entry) ?? null;
    const evidence = text(evidenceOf(entry));
    return `<tr class="${insideSession(entry, shown) ? 'inside' : 'top'}" data-kind="${text(entry.kind)}"><td class="time">${text(storyTime(entry.time))}</td><td class="kind">${text(entry.kind)}</td><td>${text(entry.actor ?? '—')}</td><td class="summary">${text(entry.summary)}</td><td class="evidence">${href ? `<a href="${attribute(href)}">${evidence}</a>` : evidence}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>${text(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.time,td.kind{white-space:nowrap;font-family:ui-monospace,monospace}
td.summary{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word}td.evidence{font-family:ui-monospace,monospace;font-size:12px;color:#57606a}
tr.inside td.kind{padding-left:1.5rem}tr[data-kind="access.deny"],tr[data-kind="auth.failure"]{background:#fff1f0}
</style>
</head>
<body>
<h1>${text(title)}</h1>
<dl>${facts.map(([label, value]) => `<dt>${text(label)}</dt><dd>${text(value)}</dd>`).join('')}</dl>
${credentials.length ? `<h2>Credentials and the approvals behind them</h2>\n<table data-testid="credentials"><thead><tr><th>Token</th><th>Created</th><th>Valid</th><th>Access request and approvals</th></tr></thead><tbody>${credentials.join('\n')}</tbody></table>` : ''}
<h2>Timeline</h2>
<table data-testid="story"><thead><tr><th>Time</th><th>What</th><th>Actor</th><th>Details</th><th>Evidence</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${story.entries.length ? '' : '<p>Nothing in this window.</p>'}
</body>
</html>
`;
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function text(value: string): string {
  return escapeControls(value).replace(/[&<>"']/g, (char) => HTML[char]!);
}

/** A relative link inside the bundle (never a scheme an attacker could choose). */
function attribute(href: string): string {
  return /^[A-Za-z0-9._/-]+$/.test(href) && !href.includes('..') ? text(href) : '#';
}
