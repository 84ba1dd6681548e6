import { errorMessage } from '../../core/errors.js';
import type { Credential, Decision, Identity, KubernetesRequestAction, Target } from '../../policy/model.js';
import { decideFromSnapshot, type PolicySnapshot } from '../../policy/policy-snapshot.js';
import type { LiveSession } from '../lifecycle/live-session.js';
import type { KubeServices } from './kube-services.js';
import { endingStatus, type KubeStatus } from './status.js';
import type { KubeUpstreamClient } from './upstream-pool.js';

const DECISION_REUSE_MS = 1000;
const MAX_REUSED_DECISIONS = 1000;

/** A request of the session still running (a watch, `logs -f`, a port-forward). */
export interface HeldRequest {
  readonly action: KubernetesRequestAction;
  /** Ends it from the gateway's side, telling the client why. */
  end(status: KubeStatus, reason: string): void;
}

/**
 * The Kubernetes API session of one credential, target and client address: opened (with
 * its access decision, row and `session.start`) by the first request, closed after
 * `kubernetes.apiSessionIdle` without requests. Every request of the session is decided in
 * memory from a policy snapshot that is read again on every permission change, and the
 * requests it keeps running (watches, log streams, port-forwards) end with it: on a kill, a
 * revocation, its maxSessionTTL or token expiry, or shutdown. exec and attach are sessions
 * of their own (exec-session.ts).
 */
export class ApiSession {
  readonly id: string;
  readonly identity: Identity;
  readonly credential: Credential;
  readonly target: Target;
  readonly clientAddr: string | null;
  private snapshot: PolicySnapshot;
  private seq = 0;
  private readonly held = new Set<HeldRequest>();
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly counts = { requests: 0, denied: 0, longRunning: 0 };
  private ending: Promise<void> | null = null;
  /** Decisions of the last second by request: a client repeating a request is not decided anew each time. */
  private readonly decisions = new Map<string, { decision: Decision; at: number }>();

  constructor(
    private readonly services: KubeServices,
    readonly live: LiveSession,
    snapshot: PolicySnapshot,
    readonly upstream: KubeUpstreamClient,
    private readonly onEnded: (session: ApiSession) => void,
  ) {
    this.id = live.id;
    this.identity = live.identity;
    this.credential = live.credential;
    this.target = snapshot.target;
    this.clientAddr = live.clientAddr;
    this.snapshot = snapshot;
    live.progress = () => ({ requests: this.counts.requests, denied: this.counts.denied, running: this.held.size });
    live.handle({
      terminate: (ending) => void this.end(ending.reason, endingStatus(ending)),
      permissionsChanged: () => this.refresh(),
    });
    this.armIdle(services.apiSessionIdleMs);
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** The decision for one request, from the roles as they stand (pure, in memory; reused for the same request within a second). */
  decide(action: KubernetesRequestAction): Decision {
    const key = `${action.verb}\0${action.apiGroup}\0${action.resource}\0${action.subresource}\0${action.namespace}\0${action.name}\0${action.path ?? ''}`;
    const now = Date.now();
    const known = this.decisions.get(key);
    if (known && now - known.at < DECISION_REUSE_MS) return known.decision;
    const decision = decideFromSnapshot(this.snapshot, action, new Date(now));
    if (this.decisions.size >= MAX_REUSED_DECISIONS) this.decisions.clear();
    this.decisions.set(key, { decision, at: now });
    return decision;
  }

  requestStarted(allowed: boolean): void {
    this.counts.requests += 1;
    if (!allowed) this.counts.denied += 1;
    this.lastActivity = Date.now();
    this.live.touched();
  }

  /** Keeps a long-running request under the session; the returned function lets go of it. */
  hold(request: HeldRequest): () => void {
    this.held.add(request);
    this.counts.longRunning += 1;
    return () => {
      this.held.delete(request);
      this.lastActivity = Date.now();
    };
  }

  /** The one end of the session: what it keeps running is ended, then the session is closed. */
  end(reason: string, status?: KubeStatus): Promise<void> {
    return (this.ending ??= (async () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.onEnded(this);
      const told = status ?? { code: 503, reason: 'ServiceUnavailable', message: `custos: ${reason}` };
      for (const request of [...this.held]) request.end(told, reason);
      await this.live.close({ reason, stats: { ...this.counts } });
    })());
  }

  /** Permissions changed (the session itself is still allowed): re-read them, end the held requests they no longer allow. */
  private async refresh(): Promise<void> {
    const { access, audit, logger } = this.services.context;
    const snapshot = await access.snapshot(this.identity.id, this.target.name);
    if (!snapshot) return; // identity or target gone: the lifecycle's re-decision ends the session
    this.snapshot = snapshot;
    this.decisions.clear();
    for (const request of [...this.held]) {
      const decision = this.decide(request.action);
      if (decision.allow) continue;
      await audit
        .record({
          type: 'access.revoked',
          actor: `gateway:${this.services.context.config.nodeName}`,
          identity: this.identity.name,
          sessionId: this.id,
          target: this.target.name,
          data: { protocol: 'kubernetes', reason: decision.reason, request: request.action },
        })
        .catch((error: unknown) => logger.error('could not record a revoked request', { session: this.id, error: errorMessage(error) }));
      request.end({ code: 403, reason: 'Forbidden', message: `custos: access revoked: ${decision.reason}` }, `access revoked: ${decision.reason}`);
    }
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => this.checkIdle(), ms);
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    if (this.ending) return;
    const idleMs = this.services.apiSessionIdleMs;
    if (this.held.size > 0) return this.armIdle(idleMs);
    const idle = Date.now() - this.lastActivity;
    if (idle < idleMs) return this.armIdle(idleMs - idle);
    void this.end(`idle: no request for ${Math.round(idle / 1000)}s`);
  }
}
