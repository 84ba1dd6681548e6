import type { ProtocolModule } from './context.js';
import { kubernetesModule } from './kubernetes/module.js';
import { postgresModule } from './postgres/module.js';
import { sshProtocol } from './ssh/ssh-module.js';

/** The protocol front ends; a configured listener without a module is not started. */
export const PROTOCOL_MODULES: ProtocolModule[] = [sshProtocol, postgresModule, kubernetesModule];
