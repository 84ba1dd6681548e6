import type { Command } from 'commander';
import { createLogger } from '../../core/logger.js';
import { Gateway } from '../gateway.js';
import { configFor, withConfigOption } from '../program-context.js';

export function registerStart(program: Command): void {
  withConfigOption(program.command('start'))
    .description('run the gateway (store, admin socket, web listener, protocol listeners)')
    .action(async (_options, command: Command) => {
      const config = configFor(command);
      const logger = createLogger(config.log.level, { node: config.nodeName });
      logger.info('starting custos', { config: config.source, dataDir: config.dataDir, store: config.store.url.replace(/:[^:@/]*@/, ':***@') });
      const gateway = await Gateway.start(config, { logger });
      logger.info('custos is ready', { addresses: Object.fromEntries(Object.entries(gateway.addresses).map(([k, v]) => [k, `${v.host}:${v.port}`])) });
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info('shutting down', { signal });
          gateway.stop().then(resolve, (error) => {
            logger.error('shutdown failed', { error });
            resolve();
          });
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
      });
      logger.info('stopped');
    });
}
