import type { Role } from './model.js';

export type AccessLevel = 'none' | 'own' | 'all';

export interface ViewerRights {
  sessions: AccessLevel;
  queries: AccessLevel;
  audit: boolean;
  /** May end the live sessions it can see. */
  terminate: boolean;
}

const RANK: Record<AccessLevel, number> = { none: 0, own: 1, all: 2 };

/**
 * What an identity may see in the viewer: the widest grant among its roles. Without any
 * `viewer` setting an identity sees its own sessions and queries, and no audit history.
 */
export function viewerRights(roles: Role[]): ViewerRights {
  const declared = roles.map((role) => role.spec.viewer).filter((viewer) => viewer !== undefined);
  if (declared.length === 0) return { sessions: 'own', queries: 'own', audit: false, terminate: false };
  const widest = (field: 'sessions' | 'queries'): AccessLevel =>
    declared.map((viewer) => viewer[field]).reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'none' as AccessLevel);
  return {
    sessions: widest('sessions'),
    queries: widest('queries'),
    audit: declared.some((viewer) => viewer.audit),
    terminate: declared.some((viewer) => viewer.terminate),
  };
}

/** Which parts of an identity's story a viewer may see. */
export interface StoryRights {
  /** Its sessions and everything inside them (channels, commands, files, forwards, their audit events). */
  sessions: boolean;
  /** Each captured statement. */
  statements: boolean;
  /** Its audit history: permission changes, requests and grants, tokens, denials, failed sign-ins, what it did in the viewer. */
  history: boolean;
}

/**
 * Whose story a viewer may read, and how much of it (the viewer's identity page). `own` is
 * the viewer or a bot it owns: everyone may read their own story (and their bots'), with
 * sessions and statements as far as their `sessions`/`queries` rights reach their own. Another
 * identity's sessions need `sessions: all`, its statements `queries: all`, its history
 * `audit: true`. Null when nothing is visible (the page answers 404, like an unknown name).
 */
export function storyRights(rights: ViewerRights, own: boolean): StoryRights | null {
  const reaches = (level: AccessLevel) => level === 'all' || (level === 'own' && own);
  const result = { sessions: reaches(rights.sessions), statements: reaches(rights.queries), history: rights.audit || own };
  return result.sessions || result.statements || result.history ? result : null;
}
