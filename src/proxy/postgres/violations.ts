import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AuditLog } from '../../recorder/audit-log.js';

export interface Violation {
  reason: string;
  /** protocol_violation, message_too_large, startup_timeout, too_many_connections … */
  code: string;
  clientAddr: string | null;
  /** The identity the client proved (a running session). */
  identity?: string | null;
  /** The identity the client named but has not proved (startup, authentication). */
  claimed?: string | null;
  sessionId?: string | null;
}

/**
 * Audit events for hostile or broken connections, rate limited: a flood must not flood the
 * audit log (or crowd out the events of everyone else). Up to `perSecond` events are written
 * as they happen; the rest are counted and summarized in one event every few seconds.
 */
export class ViolationReporter {
  private tokens: number;
  private last = Date.now();
  private suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly count: (code: string) => void,
    private readonly perSecond = 20,
    private readonly summaryEveryMs = 5000,
  ) {
    this.tokens = perSecond * 2;
  }

  report(violation: Violation): void {
    this.count(violation.code);
    const now = Date.now();
    this.tokens = Math.min(this.perSecond * 2, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) {
      this.suppressed.set(violation.code, (this.suppressed.get(violation.code) ?? 0) + 1);
      this.timer ??= setTimeout(() => this.summarize(), this.summaryEveryMs).unref() as NodeJS.Timeout;
      return;
    }
    this.tokens -= 1;
    this.audit
      .record({
        type: 'protocol.violation',
        ...violationActor(violation),
        sessionId: violation.sessionId ?? null,
        data: {
          protocol: 'postgres',
          code: violation.code,
          reason: violation.reason,
          clientAddr: violation.clientAddr,
          ...(violation.claimed && !violation.identity ? { claimed: violation.claimed } : {}),
        },
      })
      .catch((err) => this.logger.warn('could not record a protocol violation', { error: errorMessage(err) }));
  }

  /** Writes the summary of suppressed events now (shutdown). */
  summarize(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.suppressed.size === 0) return;
    const counts = Object.fromEntries(this.suppressed);
    this.suppressed.clear();
    this.audit
      .record({ type: 'protocol.violation', actor: 'gateway', data: { protocol: 'postgres', code: 'rate_limited', suppressed: counts, reason: 'more violations than the audit rate limit; counted here' } })
      .catch((err) => this.logger.warn('could not record a protocol violation summary', { error: errorMessage(err) }));
  }
}

/**
 * Only a proved identity is an actor. A name the client claimed before proving it is marked as
 * claimed — as `auth.failure` does — and still filed under that identity, so that an auditor
 * following it sees what was attempted in its name.
 */
export function violationActor(violation: Pick<Violation, 'identity' | 'claimed'>): { actor: string; identity: string | null } {
  if (violation.identity) return { actor: violation.identity, identity: violation.identity };
  if (violation.claimed) return { actor: `claimed:${violation.claimed}`, identity: violation.claimed };
  return { actor: 'anonymous', identity: null };
}
