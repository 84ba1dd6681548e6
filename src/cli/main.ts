import { Command, CommanderError } from 'commander';
import { VERSION } from '../core/version.js';
import { registerAudit } from './commands/audit.js';
import { registerBots } from './commands/bots.js';
import { registerLogin } from './commands/login.js';
import { registerKubeRequests } from './commands/kube-requests.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerPlay } from './commands/play.js';
import { registerQueries } from './commands/queries.js';
import { registerRequest } from './commands/request.js';
import { registerResources } from './commands/resources.js';
import { registerSessions } from './commands/sessions.js';
import { registerStart } from './commands/start.js';
import { registerToken } from './commands/token.js';
import { exitCodeFor } from './errors.js';
import { withConfigOption } from './program-context.js';
import { escapeControls } from './safe-text.js';

export function buildProgram(): Command {
  const program = withConfigOption(new Command('custos'))
    .description('Custos: a privileged access gateway that records every session and statement')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerResources(program);
  registerToken(program);
  registerAudit(program);
  registerSessions(program);
  registerPlay(program);
  registerQueries(program);
  registerLogin(program);
  registerRequest(program);
  registerBots(program);
  registerKubeRequests(program);
  registerKubeconfig(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`custos: ${escapeControls((err as Error).message)}\n`);
    return exitCodeFor(err);
  }
}
