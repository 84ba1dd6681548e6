import type { StoryRights } from '../../policy/viewer-rights.js';
import type { Story, StoryEntry } from './story-model.js';

/**
 * Which right an entry needs: a statement or a Kubernetes request (the viewer shows both
 * logs under `viewer.queries`), something of a session in the story, or the audit history.
 */
export function storyPart(entry: StoryEntry, sessions: Set<string>): keyof StoryRights {
  if (entry.kind === 'statement' || entry.kind === 'kubernetes.request') return 'statements';
  if (entry.session_id && sessions.has(entry.session_id)) return 'sessions';
  return 'history';
}

/** The story with only the entries the rights reach (and credentials only with the history). */
export function visibleStory(story: Story, rights: StoryRights): Story {
  const sessions = new Set(story.entries.filter((entry) => entry.kind === 'session.start').map((entry) => entry.session_id!));
  return {
    ...story,
    identity: story.identity && !rights.history ? { ...story.identity, credentials: [] } : story.identity,
    sessions: rights.sessions ? story.sessions : 0,
    entries: story.entries.filter((entry) => rights[storyPart(entry, sessions)]),
  };
}
