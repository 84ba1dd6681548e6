import type { ProtocolModule } from '../context.js';
import { SshListener } from './ssh-listener.js';

/** The SSH access path: OpenSSH clients through the gateway to SSH targets. */
export const sshProtocol: ProtocolModule = {
  protocol: 'ssh',
  create: (context) => new SshListener(context),
};
