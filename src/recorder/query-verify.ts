import type { Store } from '../store/store.js';
import { QueryDigest } from './query-digest.js';

export interface QueryVerifyResult {
  sessionId: string;
  ok: boolean;
  /** What the session's end event recorded (null when the session has not ended). */
  expected: { statements: number; digest: string } | null;
  actual: { statements: number; digest: string };
  message: string;
}

/**
 * Recomputes a session's query digest from the rows in the store and compares it with the
 * digest its `session.end` audit event carries (the event itself is protected by the chain:
 * `custos verify`). A changed, deleted or inserted row makes them differ.
 */
export async function verifySessionQueries(store: Pick<Store, 'queries' | 'audit'>, sessionId: string): Promise<QueryVerifyResult> {
  const digest = new QueryDigest();
  let afterSeq = 0;
  while (true) {
    const page = await store.queries.bySession(sessionId, afterSeq, 5000);
    for (const row of page) {
      const { id: _id, ...stored } = row;
      digest.add(stored);
    }
    if (page.length < 5000) break;
    afterSeq = page.at(-1)!.seq;
  }
  const actual = { statements: digest.count, digest: digest.finish() };
  const [end] = await store.audit.list({ sessionId, type: 'session.end', limit: 1 });
  const recorded = (end?.data as { stats?: { queries?: { statements?: number; digest?: string } } } | undefined)?.stats?.queries;
  if (!recorded?.digest) {
    return { sessionId, ok: false, expected: null, actual, message: `session ${sessionId} has no session.end event with a query digest` };
  }
  const expected = { statements: recorded.statements ?? 0, digest: recorded.digest };
  const ok = expected.digest === actual.digest && expected.statements === actual.statements;
  return {
    sessionId,
    ok,
    expected,
    actual,
    message: ok
      ? `${actual.statements} statements match the digest recorded at session end`
      : `the query log of session ${sessionId} does not match its end event: recorded ${expected.statements} statements (${expected.digest}), found ${actual.statements} (${actual.digest})`,
  };
}
