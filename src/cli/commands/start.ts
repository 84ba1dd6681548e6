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
        let signals = 0;
        // The first signal stops gracefully (live sessions get shutdown.grace); a second ends them at once.
        const shutdown = (signal: string) => {
          signals += 1;
          logger.info(signals === 1 ? 'shutting down' : 'shutting down now', { signal, graceMs: signals === 1 ? config.shutdown.graceMs : 0 });
          (signals === 1 ? gateway.stop() : gateway.stopNow()).then(resolve, (error) => {
            logger.error('shutdown failed', { error });
            resolve();
          });
        };
        process.on('SIGINT', () => shutdown('SIGINT'));
        process.on('SIGTERM', () => shutdown('SIGTERM'));
      });
      logger.info('stopped');
    });
}
