import type { QueryRow } from '../../store/repositories/queries.js';
import { exportRecord } from '../query-export.js';
import { sessionFields } from './channel-source.js';
import { storyEntry, type StoryEntry, type StorySource } from './story-model.js';

const PAGE = 5000;

/**
 * Each captured statement of the story's database sessions, with its parameters and
 * outcome (only when asked for: `--statements`; otherwise the session's end entry counts
 * them). Whole sessions, like every session-bound entry.
 */
export const statementSource: StorySource = {
  name: 'statements',
  async entries(context) {
    if (!context.statements) return [];
    const entries: StoryEntry[] = [];
    for (const detail of context.sessions) {
      if (detail.session.protocol !== 'postgres') continue;
      const common = sessionFields(detail);
      let afterSeq = -1;
      while (true) {
        const page = await context.store.queries.bySession(detail.session.id, afterSeq, PAGE);
        for (const row of page) entries.push(storyEntry({ ...common, time: row.startedAt.toISOString(), kind: 'statement', summary: statementSummary(row), query: { id: row.id, seq: row.seq }, details: statementDetails(row) }));
        if (page.length < PAGE) break;
        afterSeq = page.at(-1)!.seq;
      }
    }
    return entries;
  },
};

function statementSummary(row: QueryRow): string {
  const params = row.params?.length ? ` [${row.params.map((param) => (param.value === null ? 'NULL' : JSON.stringify(param.value))).join(', ')}]` : '';
  const outcome =
    row.status === 'error'
      ? ` -> ERROR ${row.sqlstate ?? ''} ${row.errorMessage ?? ''}`.trimEnd()
      : row.status === 'ok'
        ? ` -> ${row.commandTag ?? 'ok'}`
        : ` -> ${row.status}`;
  return `${row.statement}${params}${outcome}`;
}

/** The statement's export record (`custos queries --format jsonl`) without what the entry already says. */
function statementDetails(row: QueryRow): Record<string, unknown> {
  const { id: _id, session_id: _session, identity: _identity, identity_id: _identityId, target: _target, started_at: _started, ticket: _ticket, ...details } = exportRecord(row);
  return details;
}
