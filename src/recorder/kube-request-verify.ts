import type { Store } from '../store/store.js';
import { KubeRequestDigest } from './kube-request-digest.js';

export interface KubeRequestVerifyResult {
  sessionId: string;
  ok: boolean;
  /** What the session's end event sealed (null when it sealed nothing). */
  expected: { requests: number; digest: string } | null;
  actual: { requests: number; digest: string };
  message: string;
}

/**
 * Recomputes a Kubernetes session's request digest from the rows in the store and compares
 * it with the one its `session.end` event sealed (the event itself is protected by the
 * chain): a changed, deleted or inserted request row makes them differ.
 */
export async function verifySessionKubeRequests(store: Pick<Store, 'kubeRequests' | 'audit'>, sessionId: string): Promise<KubeRequestVerifyResult> {
  const digest = new KubeRequestDigest();
  let afterSeq = -2_147_483_648; // seq is an integer column: the smallest it holds
  while (true) {
    const page = await store.kubeRequests.bySession(sessionId, afterSeq, 5000);
    for (const { id: _id, ...row } of page) digest.add(row);
    if (page.length < 5000) break;
    afterSeq = page.at(-1)!.seq;
  }
  const actual = { requests: digest.count, digest: digest.finish() };
  const [end] = await store.audit.list({ sessionId, type: 'session.end', limit: 1 });
  const sealed = (end?.data as { stats?: { kubeRequests?: { requests?: number; digest?: string; unsettled?: number } } } | undefined)?.stats?.kubeRequests;
  if (!sealed?.digest) return { sessionId, ok: false, expected: null, actual, message: `session ${sessionId} has no session.end event with a request digest` };
  const expected = { requests: sealed.requests ?? 0, digest: sealed.digest };
  const ok = expected.digest === actual.digest && expected.requests === actual.requests;
  return {
    sessionId,
    ok,
    expected,
    actual,
    message: ok
      ? `${actual.requests} requests match the digest sealed at session end`
      : `the Kubernetes request log of session ${sessionId} does not match its end event: sealed ${expected.requests} requests (${expected.digest}), found ${actual.requests} (${actual.digest})` +
        (sealed.unsettled ? `; ${sealed.unsettled} requests were still running when the session was sealed and are not in its digest` : ''),
  };
}
