import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { grantEndingSoonMessage, grantEndMessage } from '../../policy/grant-messages.js';
import type { Action, Credential, Decision, Identity } from '../../policy/model.js';
import type { SessionLog } from '../../recorder/session-log.js';
import type { RecordingDigest } from '../../recorder/session-recorder.js';
import { ProxyError } from '../errors.js';
import { endings, type Ending } from './ending.js';
import { timerAt } from './long-timer.js';

export type SessionProtocol = 'ssh' | 'postgres' | 'kubernetes';

/** What a protocol knows when its access has been decided and allowed. */
export interface SessionOpening {
  /** The id the access decision was recorded with (SessionLifecycle.newSessionId()). */
  id: string;
  protocol: SessionProtocol;
  identity: Identity;
  credential: Credential;
  target: { name: string; address: string };
  /** The action that was allowed; re-decided whenever permissions change. */
  action: Action;
  decision: Decision;
  login?: string | null;
  database?: string | null;
  clientAddr?: string | null;
  /** Protocol-specific evidence tags (row `details`, `session.start` event). */
  details?: Record<string, unknown>;
}

/** What the protocol reports when the session is over. */
export interface SessionClose {
  /** Why it ended as the protocol saw it; a gateway-side ending's reason takes precedence. */
  reason: string;
  channelRecordings?: Array<{ channelId: number } & RecordingDigest>;
  stats?: Record<string, unknown>;
}

/** How the protocol ends its session and warns its operator (registered with `handle`). */
export interface SessionHandler {
  /** End the session now, telling the client `ending.message`; then call `close`. */
  terminate(ending: Ending): void;
  /** Show the operator a notice without ending anything (shutdown, access ending soon). */
  warn?(message: string): void;
  /**
   * Permissions changed and the session's own action is still allowed. A session that
   * decides more than its action (a Kubernetes API session decides every request) re-reads
   * its policy here and ends what it no longer allows.
   */
  permissionsChanged?(): Promise<void>;
}

export interface LiveSessionDeps {
  log: SessionLog;
  node: string;
  logger: Logger;
  finished: (session: LiveSession) => void;
}

/**
 * One access session of any protocol, from the moment its access was allowed to its one
 * `session.end`: the row and `session.start` event (`opened`), the deadline (maxSessionTTL,
 * credential expiry), gateway-side endings (kill, revocation, shutdown) handed to the
 * protocol's handler, live progress for the live view, and the end with digests and counts.
 * `close` may be called at any time, even before `opened` settles: the end is written after
 * the start, exactly once, or not at all when the start could not be written.
 */
export class LiveSession {
  readonly id: string;
  readonly protocol: SessionProtocol;
  readonly identity: Identity;
  readonly credential: Credential;
  readonly target: { name: string; address: string };
  readonly action: Action;
  readonly decision: Decision;
  readonly login: string | null;
  readonly database: string | null;
  readonly clientAddr: string | null;
  readonly startedAt = new Date();
  readonly logger: Logger;
  /** Resolves once the row and `session.start` are written; rejects (ProxyError) if they cannot be. */
  readonly opened: Promise<void>;

  private handler: SessionHandler | null = null;
  private ending: Ending | null = null;
  private closing: Promise<void> | null = null;
  private deadline: { cancel(): void } | null = null;
  private warning: { cancel(): void } | null = null;

  private bytesToClient = 0;
  private bytesFromClient = 0;
  private lastActivity: Date;
  private progressed = false;
  /** Protocol counters shown while live (statements so far, channels …). */
  progress: (() => Record<string, number>) | null = null;

  constructor(
    opening: SessionOpening,
    private readonly deps: LiveSessionDeps,
  ) {
    this.id = opening.id;
    this.protocol = opening.protocol;
    this.identity = opening.identity;
    this.credential = opening.credential;
    this.target = opening.target;
    this.action = opening.action;
    this.decision = opening.decision;
    this.login = opening.login ?? null;
    this.database = opening.database ?? null;
    this.clientAddr = opening.clientAddr ?? null;
    this.lastActivity = this.startedAt;
    this.logger = deps.logger.child({ session: this.id });
    this.opened = this.open(opening);
    this.opened.catch(() => undefined);
  }

  /** The gateway-side ending, once one was decided. */
  get termination(): Ending | null {
    return this.ending;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** The protocol's way to end and warn; an ending decided before this is delivered now. */
  handle(handler: SessionHandler): void {
    this.handler = handler;
    if (this.ending && !this.closing) handler.terminate(this.ending);
  }

  /** Ends the session from the gateway's side; the first ending wins. */
  terminate(ending: Ending): void {
    if (this.ending || this.closing) return;
    this.ending = ending;
    this.deadline?.cancel();
    this.warning?.cancel();
    this.logger.info('ending session', { reason: ending.reason });
    this.handler?.terminate(ending);
  }

  warn(message: string): void {
    if (!this.closing) this.handler?.warn?.(message);
  }

  /** The session's action passed a re-decision after a permission change. */
  async permissionsChanged(): Promise<void> {
    if (!this.closing && !this.ending) await this.handler?.permissionsChanged?.();
  }

  /** Bytes passed (hot path: counters only). */
  transferred(toClient: number, fromClient: number): void {
    this.bytesToClient += toClient;
    this.bytesFromClient += fromClient;
    this.progressed = true;
  }

  /** The live view's numbers if they changed since last asked. */
  takeProgress(): { at: Date; stats: Record<string, unknown> } | null {
    if (!this.progressed) return null;
    this.progressed = false;
    this.lastActivity = new Date();
    return { at: this.lastActivity, stats: { bytesToClient: this.bytesToClient, bytesFromClient: this.bytesFromClient, ...this.progress?.() } };
  }

  /** Something happened that is not bytes (a statement): counts as activity. */
  touched(): void {
    this.progressed = true;
  }

  /** The one end of the session: row closed and `session.end` with digests and counts. */
  close(outcome: SessionClose): Promise<void> {
    return (this.closing ??= (async () => {
      this.deadline?.cancel();
      this.warning?.cancel();
      try {
        await this.opened;
      } catch {
        this.deps.finished(this);
        return;
      }
      const recordings = [...(outcome.channelRecordings ?? [])].sort((a, b) => a.channelId - b.channelId);
      const main = recordings[0];
      try {
        await this.deps.log.end(
          { id: this.id, identityName: this.identity.name, target: this.target.name, protocol: this.protocol },
          {
            state: 'closed',
            reason: this.ending?.reason ?? outcome.reason,
            recording: main ? { path: main.path, bytes: main.bytes, sha256: main.sha256 } : null,
            channelRecordings: recordings,
            stats: { bytesToClient: this.bytesToClient, bytesFromClient: this.bytesFromClient, ...outcome.stats, ...(this.ending ? { endedBy: this.ending.kind } : {}) },
            approval: this.decision.grant ?? null,
          },
        );
      } catch (error) {
        this.logger.error('could not record the end of a session', { error: errorMessage(error) });
      } finally {
        this.deps.finished(this);
      }
    })());
  }

  private async open(opening: SessionOpening): Promise<void> {
    try {
      await this.deps.log.open({
        id: this.id,
        protocol: this.protocol,
        identity: this.identity,
        credential: this.credential,
        target: this.target,
        login: this.login,
        database: this.database,
        clientAddr: this.clientAddr,
        node: this.deps.node,
        grant: this.decision.grant ?? null,
        expiresAt: this.decision.expiresAt ?? null,
        roles: this.decision.roles,
        startedAt: this.startedAt,
        ...(opening.details ? { details: opening.details } : {}),
      });
    } catch (error) {
      this.logger.error('could not open a session record; refusing the session', { error: errorMessage(error) });
      throw new ProxyError('audit_unavailable', 'the gateway cannot record this session right now, so access is refused', { cause: error });
    }
    if (!this.closing && !this.ending) this.armDeadline();
  }

  /**
   * The session ends at its maxSessionTTL, or earlier when its credential expires or the
   * grant it runs under ends; under a grant, the operator is warned five minutes before (at
   * once when less is left).
   */
  private armDeadline(): void {
    const candidates: Array<{ at: Date; ending: () => Ending }> = [];
    const grant = this.decision.grant;
    if (grant) {
      candidates.push({ at: grant.until, ending: () => endings.grantEnded('expired', grantEndMessage(grant, { kind: 'expired', at: grant.until })) });
    }
    const ttl = this.decision.expiresAt;
    if (ttl && (!grant || ttl < grant.until)) candidates.push({ at: ttl, ending: () => endings.ttl(this.decision.roles, ttl) });
    const credential = this.credential.expiresAt;
    if (credential) candidates.push({ at: credential, ending: () => endings.credentialExpired(this.credential.id, credential) });
    if (candidates.length === 0) return;
    const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
    this.deadline = timerAt(first.at, () => this.terminate(first.ending()));
    if (grant && first.at === grant.until) {
      const warnAt = new Date(Math.max(Date.now(), grant.until.getTime() - GRANT_WARNING_MS));
      this.warning = timerAt(warnAt, () => this.warn(grantEndingSoonMessage(grant, grant.until, new Date())));
    }
  }
}

/** How long before a grant's end its sessions are warned. */
const GRANT_WARNING_MS = 5 * 60_000;
