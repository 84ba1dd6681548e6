import { CustosError, errorMessage } from '../../core/errors.js';
import type { ResolvedIdentity } from '../../policy/access-control.js';
import { ProxyError } from '../errors.js';
import { ApiSession } from './api-session.js';
import type { KubeServices } from './kube-services.js';
import { refusals } from './status.js';
import type { KubeUpstreamClient } from './upstream-pool.js';

/**
 * The live API sessions of this gateway, by (token, target, client address), and how a
 * request finds its own: the first request of a credential on a target from an address
 * authenticates the bearer token, decides access to the cluster (an audit event), reads the
 * target's kubeconfig and opens the session; later requests find it in memory. A session
 * that ended (idle, killed, revoked, expired) is gone from here, so the next request
 * authenticates again and a revoked or expired token gets 401.
 */
export class ApiSessions {
  private readonly live = new Map<string, ApiSession>();
  private readonly opening = new Map<string, Promise<ApiSession>>();

  constructor(private readonly services: KubeServices) {}

  get size(): number {
    return this.live.size;
  }

  list(): ApiSession[] {
    return [...this.live.values()];
  }

  /** The session a request belongs to; throws ProxyError (401, 403, 404, 500, 503) when there is none to be had. */
  forRequest(authorization: string | undefined, targetName: string, clientAddr: string | null): Promise<ApiSession> {
    const token = bearerToken(authorization);
    if (!token) return this.refuseUnauthenticated(clientAddr, targetName, 'the request carries no bearer token');
    // In memory only, like the header it comes from: no hash to compute on every request.
    const key = `${token}\0${targetName}\0${clientAddr ?? ''}`;
    const session = this.live.get(key);
    if (session && !session.ended) return Promise.resolve(session);
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.open(key, token, targetName, clientAddr).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }

  private async open(key: string, token: string, targetName: string, clientAddr: string | null): Promise<ApiSession> {
    const { access, lifecycle, logger } = this.services.context;
    let resolved: ResolvedIdentity;
    try {
      resolved = await access.identityForToken(token);
    } catch (error) {
      if (!(error instanceof CustosError) || error.layer !== 'policy') throw error;
      const why = error.code === 'unknown_credential' ? 'the bearer token is not a Custos identity token' : error.message;
      return this.refuseUnauthenticated(clientAddr, targetName, why, error.message);
    }
    const { identity, credential } = resolved;
    const sessionId = lifecycle.newSessionId();
    const action = { kind: 'kubernetes.request' as const };
    let outcome;
    try {
      outcome = await access.authorize({ identity, credential, targetName, action, protocol: 'kubernetes', clientAddr, sessionId });
    } catch (error) {
      logger.error('kubernetes: cannot record an access decision; refusing', { error: errorMessage(error) });
      throw new ProxyError('audit_unavailable', `custos: the gateway cannot record access decisions right now, so ${identity.name}'s request on ${targetName} is refused`);
    }
    const { decision, target } = outcome;
    if (!target) throw refusals.notFound(`no target named "${targetName}"`);
    if (!decision.allow) throw refusals.forbidden(identity.name, targetName, decision.reason);
    const snapshot = await access.snapshot(identity.id, targetName);
    if (!snapshot) throw refusals.forbidden(identity.name, targetName, 'the identity or the target was deleted');

    let upstream: KubeUpstreamClient;
    try {
      upstream = await this.services.upstreams.forTarget(target);
    } catch (error) {
      logger.error('kubernetes: cannot load the upstream of a target', { target: target.name, error: errorMessage(error) });
      throw error instanceof ProxyError ? error : new ProxyError('upstream_config', `custos: the gateway cannot reach the API server of target ${target.name} (see the gateway log)`);
    }
    const live = lifecycle.open({
      id: sessionId,
      protocol: 'kubernetes',
      identity,
      credential,
      target: { name: target.name, address: target.address },
      action,
      decision,
      login: decision.kubeUsers?.[0] ?? null,
      clientAddr,
      details: { kind: 'api', cluster: upstream.server, kubeGroups: decision.kubeGroups ?? [] },
    });
    try {
      await live.opened;
    } catch {
      throw new ProxyError('audit_unavailable', `custos: the gateway cannot record ${identity.name}'s session on ${target.name} right now, so its requests are refused`);
    }
    const session = new ApiSession(this.services, live, snapshot, upstream, (ended) => {
      if (this.live.get(key) === ended) this.live.delete(key);
    });
    if (live.termination) throw new ProxyError('session_ended', `custos: ${live.termination.message}`);
    this.live.set(key, session);
    return session;
  }

  private async refuseUnauthenticated(clientAddr: string | null, targetName: string, why: string, detail: string = why): Promise<never> {
    this.services.metrics.authFailures();
    await this.services.context.access
      .recordAuthFailure({ protocol: 'kubernetes', clientAddr, reason: `${detail} (target ${targetName})` })
      .catch((error: unknown) => this.services.context.logger.error('could not record an authentication failure', { error: errorMessage(error) }));
    throw refusals.unauthenticated(why);
  }
}

function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1]! : null;
}
