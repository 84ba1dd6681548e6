import { errorMessage } from '../core/errors.js';
import type { AuditLog } from '../recorder/audit-log.js';
import { unavailable } from './errors.js';
import type { Viewer } from './web-sessions.js';

export interface ViewEvent {
  type: 'web.recording.view' | 'web.recording.download' | 'web.recording.live' | 'web.queries.export' | 'web.kube-requests.export';
  sessionId?: string | null;
  target?: string | null;
  data: Record<string, unknown>;
  /** Repeated requests with the same key (a player fetching segments) record one event. */
  dedupeKey?: string;
}

/**
 * "Who watched what": every recording view, download, live watch and export is an audit
 * event, written before the content is served. If it cannot be written, nothing is served.
 */
export class ViewLog {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly audit: AuditLog,
    private readonly dedupeMs = 10 * 60_000,
  ) {}

  async record(viewer: Viewer, event: ViewEvent): Promise<void> {
    const now = Date.now();
    const key = event.dedupeKey ? `${viewer.webSessionId}\0${event.type}\0${event.dedupeKey}` : null;
    if (key && (this.recent.get(key) ?? 0) > now - this.dedupeMs) return;
    try {
      await this.audit.record({
        type: event.type,
        actor: viewer.identity.name,
        identity: viewer.identity.name,
        sessionId: event.sessionId ?? null,
        target: event.target ?? null,
        data: { webSession: viewer.webSessionId, ...event.data },
      });
    } catch (err) {
      throw unavailable(`refused: the audit log cannot be written (${errorMessage(err)})`);
    }
    if (key) {
      this.recent.set(key, now);
      if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
    }
  }
}
