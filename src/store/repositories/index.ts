import type { BulkCopy } from '../bulk-copy.js';
import type { Db } from '../db.js';
import { auditRepository } from './audit.js';
import { cancelKeyRepository } from './cancel-keys.js';
import { kubeRequestRepository } from './kube-requests.js';
import { queryRepository } from './queries.js';
import { requestRepository } from './requests.js';
import { resourceRepository } from './resources.js';
import { sessionRepository } from './sessions.js';
import { tokenRepository } from './tokens.js';
import { viewerRepository } from './viewer.js';
import { webSessionRepository } from './web-sessions.js';

/**
 * Every repository over one database. In embedded mode this object lives in the store's
 * worker thread and the gateway talks to it by message (see worker-store.ts), so methods
 * take and return only structured-cloneable values: plain objects, arrays, Dates, strings.
 */
export function createRepositories(db: Db, bulk: BulkCopy) {
  return {
    audit: auditRepository(db),
    resources: resourceRepository(db),
    tokens: tokenRepository(db),
    sessions: sessionRepository(db),
    queries: queryRepository(db, bulk),
    kubeRequests: kubeRequestRepository(db),
    viewer: viewerRepository(db),
    webSessions: webSessionRepository(db),
    cancelKeys: cancelKeyRepository(db),
    requests: requestRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
export const REPOSITORY_NAMES = ['audit', 'resources', 'tokens', 'sessions', 'queries', 'kubeRequests', 'viewer', 'webSessions', 'cancelKeys', 'requests'] as const satisfies ReadonlyArray<keyof Repositories>;
