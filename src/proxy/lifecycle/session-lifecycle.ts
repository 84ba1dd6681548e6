import type { ControlChannel, ControlNotice } from '../../core/control-notice.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AccessControl } from '../../policy/access-control.js';
import { newId } from '../../policy/ids.js';
import type { AuditLog } from '../../recorder/audit-log.js';
import { recoverInterruptedSessions } from '../../recorder/session-recovery.js';
import type { SessionLog } from '../../recorder/session-log.js';
import { endings, type Ending } from './ending.js';
import { LiveSession, type SessionOpening } from './live-session.js';

export interface SessionLifecycleOptions {
  access: AccessControl;
  log: SessionLog;
  audit: AuditLog;
  node: string;
  logger: Logger;
  /** Control notices from every gateway sharing the store; without it only local endings work. */
  control?: ControlChannel;
  /** How often live progress is written for the live view (default 2 s). */
  progressIntervalMs?: number;
  /** Longest wait for sessions to end once they were told to (default 15 s). */
  endWaitMs?: number;
}

const RECHECK_DEBOUNCE_MS = 50;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The live sessions of this gateway process, of every protocol, and everything that ends
 * them from outside the protocol: kills (`session.terminate` events from any gateway sharing
 * the store, delivered as control notices), permission changes (every live session is
 * re-decided and ended if no longer allowed), graceful shutdown, and crash recovery of the
 * sessions a dead process of this node left open.
 */
export class SessionLifecycle {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly idleWaiters = new Set<() => void>();
  private unsubscribe: (() => Promise<void>) | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;
  private rechecking: Promise<void> | null = null;
  private recheckAgain: ControlNotice | null = null;
  private draining = false;

  constructor(private readonly options: SessionLifecycleOptions) {}

  /** The id to record the access decision with, before the session opens. */
  newSessionId(): string {
    return newId('ses');
  }

  /**
   * Opens a session whose access was allowed: registered at once (so kills and shutdown
   * reach it), its row and `session.start` written in the background (`session.opened`).
   */
  open(opening: SessionOpening): LiveSession {
    const session = new LiveSession(opening, {
      log: this.options.log,
      node: this.options.node,
      logger: this.options.logger,
      finished: (done) => this.finished(done),
    });
    this.sessions.set(session.id, session);
    if (this.draining) session.terminate(endings.shutdown());
    return session;
  }

  get(id: string): LiveSession | undefined {
    return this.sessions.get(id);
  }

  list(): LiveSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Ends a session held by this process; false if it holds none with that id. */
  terminate(id: string, ending: Ending): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    session.terminate(ending);
    return true;
  }

  /** Sessions a dead process of this node left live are closed as interrupted. */
  recover(): Promise<number> {
    return recoverInterruptedSessions(this.options.log, this.options.node, this.options.logger);
  }

  /** Starts listening for control notices and writing live progress. */
  async start(): Promise<void> {
    const { control } = this.options;
    if (control) {
      this.unsubscribe = await control.subscribe(
        (notice) => this.onNotice(notice),
        () => this.scheduleRecheck(null),
      );
    }
    const interval = this.options.progressIntervalMs ?? 2000;
    this.progressTimer = setInterval(() => void this.writeProgress(), interval);
    this.progressTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.progressTimer = this.recheckTimer = null;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.().catch(() => undefined);
    await this.rechecking;
  }

  /**
   * Graceful shutdown: new sessions are refused from now on; live ones are warned and given
   * `graceMs` to finish (cut short when `now` resolves: a second SIGTERM), then ended.
   */
  async drain(graceMs: number, now: Promise<void> = new Promise(() => undefined)): Promise<void> {
    this.draining = true;
    if (this.sessions.size === 0) return;
    if (graceMs > 0) {
      const seconds = Math.ceil(graceMs / 1000);
      for (const session of this.sessions.values()) session.warn(`gateway shutting down in ${seconds}s`);
      await Promise.race([this.idle(), delay(graceMs), now]);
    }
    for (const session of this.sessions.values()) session.terminate(endings.shutdown());
    await Promise.race([this.idle(), delay(this.options.endWaitMs ?? 15_000)]);
  }

  /** Resolves when no session is live in this process. */
  idle(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  private finished(session: LiveSession): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    if (this.sessions.size > 0) return;
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters.clear();
  }

  private onNotice(notice: ControlNotice): void {
    if (notice.type === 'session.terminate') {
      if (notice.sessionId) this.terminate(notice.sessionId, endings.terminated(notice.actor, notice.reason ?? 'no reason given'));
      return;
    }
    if (this.sessions.size > 0) this.scheduleRecheck(notice);
  }

  /** Permission changes come in bursts (one apply, many events): re-decide once per burst. */
  private scheduleRecheck(cause: ControlNotice | null): void {
    if (this.rechecking) {
      this.recheckAgain = cause ?? this.recheckAgain ?? ({ seq: 0, type: 'gap', actor: 'gateway' } as ControlNotice);
      return;
    }
    if (this.recheckTimer) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      this.rechecking = this.recheckAll(cause).finally(() => {
        this.rechecking = null;
        const again = this.recheckAgain;
        this.recheckAgain = null;
        if (again) this.scheduleRecheck(again.type === 'gap' ? null : again);
      });
    }, RECHECK_DEBOUNCE_MS);
    this.recheckTimer.unref();
  }

  /** Every live session re-decided; the ones no longer allowed end with the reason. */
  async recheckAll(cause: ControlNotice | null = null): Promise<void> {
    const { access, audit, logger } = this.options;
    for (const session of [...this.sessions.values()]) {
      if (session.closed || session.termination) continue;
      let verdict;
      try {
        verdict = await access.recheck({
          identityId: session.identity.id,
          identityName: session.identity.name,
          credential: session.credential,
          targetName: session.target.name,
          action: session.action,
          grant: session.decision.grant ?? null,
        });
      } catch (error) {
        logger.error('could not re-decide a live session', { session: session.id, error: errorMessage(error) });
        continue;
      }
      if (verdict.allow) {
        await session
          .permissionsChanged()
          .catch((error: unknown) => logger.error('a live session could not re-read its permissions', { session: session.id, error: errorMessage(error) }));
        continue;
      }
      const actor = cause?.actor || `gateway:${this.options.node}`;
      await audit
        .record({
          type: 'access.revoked',
          actor,
          identity: session.identity.name,
          sessionId: session.id,
          target: session.target.name,
          data: { reason: verdict.reason, protocol: session.protocol, cause: cause ? { seq: cause.seq, type: cause.type } : null },
        })
        .catch((error: unknown) => logger.error('could not record a revoked session', { session: session.id, error: errorMessage(error) }));
      session.terminate(verdict.grantEnded ? endings.grantEnded(verdict.grantEnded, verdict.reason) : endings.revoked(verdict.reason));
    }
  }

  private async writeProgress(): Promise<void> {
    for (const session of this.sessions.values()) {
      const progress = session.takeProgress();
      if (!progress) continue;
      await this.options.log
        .activity(session.id, progress.at, progress.stats)
        .catch((error: unknown) => this.options.logger.debug('could not write live progress', { session: session.id, error: errorMessage(error) }));
    }
  }
}
