import { errorMessage } from '../../core/errors.js';
import type { Identity } from '../../policy/model.js';
import type { ProxyContext } from '../context.js';
import type { StartupRefusal } from './startup-parameters.js';

/**
 * The audit event of a connection refused for a startup parameter the gateway does not
 * forward (`postgres.startup.refused`), written once the identity is proved so that it names
 * who asked. The connection is refused whether or not the event could be written.
 */
export async function recordStartupRefusal(context: ProxyContext, identity: Identity, refusal: StartupRefusal, target: string, clientAddr: string | null): Promise<void> {
  await context.audit
    .record({
      type: 'postgres.startup.refused',
      actor: identity.name,
      identity: identity.name,
      target,
      data: {
        protocol: 'postgres',
        parameter: refusal.parameter,
        setting: refusal.setting,
        value: refusal.value,
        kind: refusal.kind,
        reason: refusal.message,
        clientAddr,
      },
    })
    .catch((err) => context.logger.warn('could not record a refused startup parameter', { error: errorMessage(err) }));
}
