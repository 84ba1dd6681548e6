import type { GatewayConfig } from '../core/config.js';
import { newestAnchor } from '../recorder/audit-anchor.js';
import type { VerifyResult } from '../recorder/audit-verify.js';
import type { Checkpoint } from '../recorder/chain-checkpoints.js';
import type { KubeRequestVerifyResult } from '../recorder/kube-request-verify.js';
import type { QueryVerifyResult } from '../recorder/query-verify.js';
import { checkSealedRecordings, type SessionSeal } from '../recorder/session-seals.js';
import { withCliOperations } from './run-operation.js';

export interface EvidenceReport {
  chain: VerifyResult;
  /** Null with `--chain-only`. */
  recordings: { checked: number; sessions: number } | null;
  queries: { sessions: number; statements: number; unsealed: number } | null;
  kubeRequests: { sessions: number; requests: number } | null;
  /** Everything that does not match, each naming what and where. */
  problems: string[];
}

/**
 * `custos verify`: the audit chain with the checkpoints it must still hold (`--expect-head`,
 * the newest anchor line), then — unless `chainOnly` — every recording against the digest
 * its session's end event sealed (hashed here, in the CLI's process, not in the gateway's)
 * and every database session's query log and Kubernetes session's request log against its
 * sealed digest (recomputed where the store is).
 */
export async function checkEvidence(config: GatewayConfig, options: { chainOnly: boolean; expectHeads: Checkpoint[] }): Promise<EvidenceReport> {
  const checkpoints = [...options.expectHeads];
  const problems: string[] = [];
  if (config.audit.anchor) {
    try {
      const anchor = await newestAnchor(config.audit.anchor);
      if (anchor) checkpoints.push(anchor);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return withCliOperations(config, async (run) => {
    const chain = (await run('audit.verify', { checkpoints })) as VerifyResult;
    if (chain.fault) problems.push(`the audit chain is broken at event ${chain.fault.seq}`);
    for (const checkpoint of chain.checkpoints) if (!checkpoint.ok) problems.push(`expected head NOT in the chain: ${checkpoint.message}`);
    if (options.chainOnly) return { chain, recordings: null, queries: null, kubeRequests: null, problems };

    const recordings = { checked: 0, sessions: 0 };
    const queries = { sessions: 0, statements: 0, unsealed: 0 };
    const withDigest: string[] = [];
    const kubeRequests = { sessions: 0, requests: 0 };
    const withKubeDigest: string[] = [];
    let afterSeq = 0;
    while (true) {
      const seals = (await run('audit.seals', { afterSeq, limit: 1000 })) as SessionSeal[];
      for (const seal of seals) {
        const checked = await checkSealedRecordings(seal);
        recordings.checked += checked.checked;
        if (checked.checked > 0) recordings.sessions += 1;
        problems.push(...checked.problems.map((problem) => problem.message));
        if (seal.queries && seal.type === 'session.end') withDigest.push(seal.sessionId);
        else if (seal.protocol === 'postgres') queries.unsealed += 1;
        if (seal.kubeRequests && seal.type === 'session.end') withKubeDigest.push(seal.sessionId);
      }
      if (seals.length < 1000) break;
      afterSeq = seals.at(-1)!.seq;
    }
    for (let i = 0; i < withDigest.length; i += 200) {
      const results = (await run('queries.verifySessions', { sessions: withDigest.slice(i, i + 200) })) as QueryVerifyResult[];
      for (const result of results) {
        queries.sessions += 1;
        queries.statements += result.actual.statements;
        if (!result.ok) problems.push(`query log CHANGED: ${result.message}`);
      }
    }
    for (let i = 0; i < withKubeDigest.length; i += 200) {
      const results = (await run('kube-requests.verifySessions', { sessions: withKubeDigest.slice(i, i + 200) })) as KubeRequestVerifyResult[];
      for (const result of results) {
        kubeRequests.sessions += 1;
        kubeRequests.requests += result.actual.requests;
        if (!result.ok) problems.push(`Kubernetes request log CHANGED: ${result.message}`);
      }
    }
    return { chain, recordings, queries, kubeRequests, problems };
  });
}
