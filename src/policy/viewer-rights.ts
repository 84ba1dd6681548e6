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
