import type { ProtocolModule, ProxyContext } from '../context.js';
import { PostgresListener } from './listener.js';

/**
 * The PostgreSQL protocol module. Its sessions left live by a crash are closed by the
 * lifecycle's recovery; `recover` removes the cancel keys the dead process left behind.
 */
export const postgresModule: ProtocolModule = {
  protocol: 'postgres',
  create: (context) => new PostgresListener(context),
  recover: async (context: ProxyContext) => {
    const keys = await context.cancelKeys.deleteForNode(context.config.nodeName);
    if (keys > 0) context.logger.info('removed cancel keys of sessions that ended with the last process', { cancelKeys: keys });
  },
};
