import type { ProtocolModule } from '../context.js';
import { KubeListener } from './listener.js';

/** The Kubernetes access path: kubectl and client libraries through the gateway to clusters. */
export const kubernetesModule: ProtocolModule = {
  protocol: 'kubernetes',
  create: (context) => new KubeListener(context),
};
