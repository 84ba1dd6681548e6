import type { AuditEventInput } from '../store/repositories/audit.js';
import type { Store } from '../store/store.js';
import { decide } from './decision.js';
import { PolicyError } from './errors.js';
import { grantEndMessage } from './grant-messages.js';
import { toIdentity, toRole, toTarget, toTargetRef } from './identity.js';
import type { Action, Credential, Decision, Grant, Identity, Role, Target } from './model.js';
import type { PolicySnapshot } from './policy-snapshot.js';
import { sshFingerprint } from './ssh-keys.js';
import { hashToken } from './tokens.js';
import { viewerRights, type ViewerRights } from './viewer-rights.js';

export interface ResolvedIdentity {
  identity: Identity;
  credential: Credential;
}

export interface ScramCandidates {
  identity: Identity;
  salt: Buffer;
  iterations: number;
  verifiers: Array<{ tokenId: string; storedKey: Buffer; serverKey: Buffer; expiresAt: Date | null }>;
}

/** A live session, as re-decided when permissions change. */
export interface SessionAccess {
  identityId: string;
  identityName: string;
  credential: Credential;
  targetName: string;
  action: Action;
  /** The grant the session was opened under, if one allowed it. */
  grant?: { id: string; request: string; ticket: string | null } | null;
}

/** `grantEnded`: the grant the session ran under ended (the reason names the request and why). */
export type Recheck = { allow: true } | { allow: false; reason: string; grantEnded?: 'expired' | 'revoked' };

export interface AccessRequest {
  identity: Identity;
  credential: Credential;
  targetName: string;
  action: Action;
  protocol: string;
  clientAddr?: string | null;
  sessionId?: string | null;
}

/**
 * Identity resolution and access decisions over the store, for every protocol front end.
 * Each decision, allow or deny, is written to the audit log before it is returned; if that
 * write fails the call throws, and the caller must refuse access (fail closed).
 */
export class AccessControl {
  constructor(
    private readonly store: Store,
    private readonly recordEvent: (event: AuditEventInput) => Promise<unknown>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The identity owning this SSH public key, or null for an unknown key. */
  async identityForSshKey(key: { algo: string; data: Buffer }): Promise<ResolvedIdentity | null> {
    const fingerprint = sshFingerprint(key.data);
    const found = await this.store.resources.identityBySshFingerprint(fingerprint);
    if (!found) return null;
    return { identity: toIdentity(found.identity), credential: { id: `ssh-key:${fingerprint}`, kind: 'ssh-key' } };
  }

  /** The identity behind a whole token (web sign-in, Kubernetes bearer). */
  async identityForToken(token: string): Promise<ResolvedIdentity> {
    const row = await this.store.tokens.byHash(hashToken(token));
    if (!row) throw new PolicyError('unknown_credential', 'unknown token');
    const now = this.clock();
    if (row.revokedAt) throw new PolicyError('token_revoked', tokenEnded(row, 'was revoked'));
    if (row.expiresAt && row.expiresAt <= now) throw new PolicyError('token_expired', tokenEnded(row, `expired at ${row.expiresAt.toISOString()}`));
    const identity = await this.store.resources.identityById(row.identityId);
    if (!identity) throw new PolicyError('unknown_credential', 'the token belongs to no identity');
    void this.store.tokens.touch(row.id, now).catch(() => undefined);
    return { identity: toIdentity(identity), credential: { id: row.id, kind: 'token', expiresAt: row.expiresAt } };
  }

  /**
   * Verifiers of the identity's revoked and expired tokens (the most recent 100), each with
   * why it no longer works: only for telling an audit reader that an old token was used.
   */
  async inactiveScramVerifiers(identityId: string): Promise<Array<{ tokenId: string; storedKey: Buffer; serverKey: Buffer; reason: string }>> {
    const rows = await this.store.tokens.inactiveForIdentity(identityId, this.clock());
    return rows.map((token) => ({
      tokenId: token.id,
      storedKey: Buffer.from(token.scramStoredKey, 'base64'),
      serverKey: Buffer.from(token.scramServerKey, 'base64'),
      reason: token.revokedAt
        ? tokenEnded(token, `was revoked at ${token.revokedAt.toISOString()}`)
        : tokenEnded(token, `expired at ${token.expiresAt!.toISOString()}`),
    }));
  }

  /** Salt, iterations and the verifiers of every live token of an identity, for SCRAM. */
  async scramCandidates(identityName: string): Promise<ScramCandidates | null> {
    const identity = await this.store.resources.identityByName(identityName);
    if (!identity) return null;
    const tokens = await this.store.tokens.activeForIdentity(identity.id, this.clock());
    return {
      identity: toIdentity(identity),
      salt: Buffer.from(identity.scramSalt, 'base64'),
      iterations: tokens[0]?.scramIterations ?? 4096,
      verifiers: tokens.map((token) => ({
        tokenId: token.id,
        storedKey: Buffer.from(token.scramStoredKey, 'base64'),
        serverKey: Buffer.from(token.scramServerKey, 'base64'),
        expiresAt: token.expiresAt,
      })),
    };
  }

  /** The identity's roles in the order it lists them (the first allowing role picks defaults such as the database user). */
  async rolesOf(identity: Identity): Promise<Role[]> {
    const rows = await this.store.resources.rolesNamed(identity.roles);
    return rows.sort((a, b) => identity.roles.indexOf(a.name) - identity.roles.indexOf(b.name)).map(toRole);
  }

  async viewerRightsOf(identity: Identity): Promise<ViewerRights> {
    return viewerRights(await this.rolesOf(identity));
  }

  /**
   * The identity's grants that have not ended, as decision inputs: each through the role that
   * required the approval, as long as the identity still holds that role.
   */
  async grantsOf(identity: Identity, now: Date = this.clock()): Promise<Grant[]> {
    const rows = await this.store.requests.activeGrants(identity.id, now);
    if (rows.length === 0) return [];
    const roles = await this.rolesOf(identity);
    const grants: Grant[] = [];
    for (const row of rows) {
      const role = roles.find((r) => r.name === row.role);
      if (!role) continue;
      grants.push({
        id: row.id,
        request: row.requestId,
        role,
        ticket: row.ticket,
        target: row.target,
        ...(row.login ? { logins: [row.login] } : {}),
        ...(row.dbUser ? { dbUsers: [row.dbUser] } : {}),
        ...(row.kubeGroup ? { kubeGroups: [row.kubeGroup] } : {}),
        approvers: row.approvers,
        startsAt: row.startsAt,
        expiresAt: row.endsAt,
      });
    }
    return grants;
  }

  /**
   * The identity (re-read: its roles may have changed), its roles and grants, and the target
   * now, for deciding many requests in memory; null when the identity or target is gone.
   */
  async snapshot(identityId: string, targetName: string): Promise<PolicySnapshot | null> {
    const [row, target] = await Promise.all([this.store.resources.identityById(identityId), this.store.resources.target(targetName)]);
    if (!row || !target) return null;
    const identity = toIdentity(row);
    return { identity, target: toTarget(target), roles: await this.rolesOf(identity), grants: await this.grantsOf(identity), ownerPresent: await this.ownerPresent(identity) };
  }

  /** Decides, records the decision, and returns it with the target row (null if unknown). */
  async authorize(request: AccessRequest): Promise<{ decision: Decision; target: Target | null }> {
    const now = this.clock();
    const target = await this.store.resources.target(request.targetName);
    let decision: Decision;
    if (!target) {
      decision = { allow: false, reason: `no target named "${request.targetName}"`, roles: [], recordInput: false, portForwarding: false, record: true };
    } else {
      decision = decide({
        identity: request.identity,
        roles: await this.rolesOf(request.identity),
        target: toTargetRef(target),
        action: request.action,
        grants: await this.grantsOf(request.identity, now),
        ownerPresent: await this.ownerPresent(request.identity),
        now,
      });
    }
    await this.recordEvent({
      time: now,
      type: decision.allow ? 'access.allow' : 'access.deny',
      actor: request.identity.name,
      identity: request.identity.name,
      sessionId: request.sessionId ?? null,
      target: request.targetName,
      data: {
        protocol: request.protocol,
        action: request.action,
        identityKind: request.identity.kind,
        owner: request.identity.owner,
        credential: request.credential.id,
        clientAddr: request.clientAddr ?? null,
        reason: decision.reason,
        roles: decision.roles,
        login: decision.login ?? null,
        dbUser: decision.dbUser ?? null,
        grant: decision.grant ? { id: decision.grant.id, ticket: decision.grant.ticket } : null,
        approval: decision.grant
          ? { request: decision.grant.request, ticket: decision.grant.ticket, approvers: decision.grant.approvers, until: decision.grant.until.toISOString() }
          : null,
        expiresAt: decision.expiresAt?.toISOString() ?? null,
      },
    });
    return { decision, target: target ? toTarget(target) : null };
  }

  /**
   * Whether a live session may go on under the permissions as they are now: its identity
   * still exists, the credential that proved it still does (key still the identity's, token
   * neither revoked nor expired), the grant it was opened under (if any) has not ended, and
   * the same action is still allowed on the same target.
   * Not audited here: the caller records the ending it causes.
   */
  async recheck(session: SessionAccess): Promise<Recheck> {
    const now = this.clock();
    const row = await this.store.resources.identityById(session.identityId);
    if (!row) return { allow: false, reason: `identity ${session.identityName} was deleted` };
    const identity = toIdentity(row);
    if (session.grant) {
      const grant = await this.store.requests.grant(session.grant.id);
      const name = { request: session.grant.request, ticket: session.grant.ticket };
      if (!grant) return { allow: false, reason: `${grantEndMessage(name, { kind: 'revoked', by: 'custos', reason: 'the grant no longer exists' })}`, grantEnded: 'revoked' };
      if (grant.state === 'ended' && grant.endKind === 'revoked') {
        return { allow: false, reason: grantEndMessage(name, { kind: 'revoked', by: grant.endedBy ?? 'unknown', reason: grant.endReason ?? 'no reason given' }), grantEnded: 'revoked' };
      }
      if (grant.state === 'ended' || grant.endsAt <= now) {
        return { allow: false, reason: grantEndMessage(name, { kind: 'expired', at: grant.endsAt }), grantEnded: 'expired' };
      }
    }
    const credentialProblem = await this.credentialProblem(identity, session.credential, now);
    if (credentialProblem) return { allow: false, reason: credentialProblem };
    const target = await this.store.resources.target(session.targetName);
    if (!target) return { allow: false, reason: `target ${session.targetName} was deleted` };
    const decision = decide({
      identity,
      roles: await this.rolesOf(identity),
      target: toTargetRef(target),
      action: session.action,
      grants: await this.grantsOf(identity, now),
      ownerPresent: await this.ownerPresent(identity),
      now,
    });
    return decision.allow ? { allow: true } : { allow: false, reason: decision.reason };
  }

  /** For a bot: whether its owner still exists (always true for humans). */
  private async ownerPresent(identity: Identity): Promise<boolean> {
    if (identity.kind !== 'bot') return true;
    if (!identity.owner) return false;
    const owner = await this.store.resources.identityByName(identity.owner);
    return owner !== null && owner.kind === 'human';
  }

  private async credentialProblem(identity: Identity, credential: Credential, now: Date): Promise<string | null> {
    if (credential.kind === 'ssh-key') {
      const fingerprint = credential.id.replace(/^ssh-key:/, '');
      const owner = await this.store.resources.identityBySshFingerprint(fingerprint);
      return owner?.identity.id === identity.id ? null : `SSH key ${fingerprint} no longer belongs to ${identity.name}`;
    }
    if (credential.kind === 'token') {
      const token = await this.store.tokens.get(credential.id);
      if (!token || token.identityId !== identity.id) return `token ${credential.id} no longer exists`;
      if (token.revokedAt) return tokenEnded(token, 'was revoked');
      if (token.expiresAt && token.expiresAt <= now) return tokenEnded(token, `expired at ${token.expiresAt.toISOString()}`);
    }
    return null;
  }

  /** An authentication that failed before any identity was established. */
  async recordAuthFailure(details: {
    protocol: string;
    clientAddr?: string | null;
    claimed?: string | null;
    credential?: string | null;
    reason: string;
  }): Promise<void> {
    await this.recordEvent({
      time: this.clock(),
      type: 'auth.failure',
      actor: details.claimed ? `claimed:${details.claimed}` : 'anonymous',
      // Unproven, but an auditor following an identity must see attempts made in its name.
      identity: details.claimed ?? null,
      data: { ...details },
    });
  }
}

/** Why a token stopped working; a token minted under a request names it (it lived only as long as the grant). */
function tokenEnded(token: { id: string; requestId: string | null }, what: string): string {
  return token.requestId ? `token ${token.id} (minted under request ${token.requestId}) ${what}` : `token ${token.id} ${what}`;
}
