import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { ControlChannel, ControlNotice } from '../core/control-notice.js';

/** The channel drizzle/0003_session_control.sql notifies on. */
export const CONTROL_CHANNEL = 'custos_control';

const RECONNECT_MS = 1000;

export function parseControlNotice(payload: string): ControlNotice | null {
  try {
    const raw = JSON.parse(payload) as Record<string, unknown>;
    if (typeof raw.seq !== 'number' || typeof raw.type !== 'string') return null;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      seq: raw.seq,
      type: raw.type,
      actor: text(raw.actor) ?? '',
      identity: text(raw.identity),
      sessionId: text(raw.sessionId),
      target: text(raw.target),
      reason: text(raw.reason),
    };
  } catch {
    return null;
  }
}

/** Embedded PGlite: notifications of the one process that holds the database. */
export function pgliteControlChannel(client: PGlite): ControlChannel {
  return {
    async subscribe(listener) {
      const unlisten = await client.listen(CONTROL_CHANNEL, (payload) => {
        const notice = parseControlNotice(payload);
        if (notice) listener(notice);
      });
      return unlisten;
    },
  };
}

/**
 * PostgreSQL: one dedicated connection LISTENing (a pooled connection would lose the
 * subscription). If it drops, it reconnects every second; `onGap` tells the subscriber that
 * notices may have been missed meanwhile.
 */
export function postgresControlChannel(url: string): ControlChannel {
  return {
    async subscribe(listener, onGap) {
      let client: pg.Client | null = null;
      let stopped = false;
      let retry: NodeJS.Timeout | null = null;
      const connect = async (afterGap: boolean): Promise<void> => {
        const next = new pg.Client({ connectionString: url, application_name: 'custos-control' });
        next.on('notification', (message) => {
          if (message.channel !== CONTROL_CHANNEL || !message.payload) return;
          const notice = parseControlNotice(message.payload);
          if (notice) listener(notice);
        });
        next.on('error', () => undefined);
        next.on('end', () => {
          if (stopped || client !== next) return;
          client = null;
          schedule();
        });
        await next.connect();
        await next.query(`LISTEN ${CONTROL_CHANNEL}`);
        if (stopped) {
          await next.end().catch(() => undefined);
          return;
        }
        client = next;
        if (afterGap) onGap?.();
      };
      const schedule = () => {
        if (stopped || retry) return;
        retry = setTimeout(() => {
          retry = null;
          connect(true).catch(() => schedule());
        }, RECONNECT_MS);
        retry.unref();
      };
      await connect(false);
      return async () => {
        stopped = true;
        if (retry) clearTimeout(retry);
        const current = client;
        client = null;
        await current?.end().catch(() => undefined);
      };
    },
  };
}
