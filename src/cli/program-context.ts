import type { Command } from 'commander';
import { loadConfig, type GatewayConfig } from '../core/config.js';

/** Adds `--config FILE` to a command (it is accepted before or after the command name). */
export function withConfigOption(command: Command): Command {
  return command.option('-c, --config <file>', 'server settings file (default: $CUSTOS_CONFIG, then ./custos.yaml, then built-in defaults)');
}

export function configFor(command: Command): GatewayConfig {
  const options = command.optsWithGlobals<{ config?: string }>();
  return loadConfig(options.config ? { file: options.config } : {});
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
