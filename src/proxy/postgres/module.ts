import { errorMessage } from '../../core/errors.js';
import type { ProtocolModule, ProxyContext } from '../context.js';
import { PostgresListener } from './listener.js';

/**
 * The PostgreSQL protocol module. `recover` runs before the listener starts: sessions this
 * node left live (it crashed or was killed) are ended as interrupted, and their cancel keys
 * removed. Statements they left `unfinished` in the query log stay so: that is the truth.
 */
export const postgresModule: ProtocolModule = {
  protocol: 'postgres',
  create: (context) => new PostgresListener(context),
  recover: async (context: ProxyContext) => {
    const node = context.config.nodeName;
    const live = (await context.store.sessions.liveOnNode(node)).filter((session) => session.protocol === 'postgres');
    for (const session of live) {
      await context.sessions
        .end(session, { state: 'interrupted', reason: 'the gateway stopped before the session ended (recovered at the next start)' })
        .catch((error) => context.logger.error('could not recover a postgres session', { sessionId: session.id, error: errorMessage(error) }));
    }
    const keys = await context.store.cancelKeys.deleteForNode(node);
    if (live.length > 0 || keys > 0) context.logger.info('recovered postgres sessions', { sessions: live.length, cancelKeys: keys });
  },
};
