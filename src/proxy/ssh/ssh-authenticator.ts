import type { AuthContext, KeyboardAuthContext, PublicKeyAuthContext } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AccessControl, ResolvedIdentity } from '../../policy/access-control.js';
import type { Decision, Target } from '../../policy/model.js';
import { sshFingerprint } from '../../policy/ssh-keys.js';
import { messages } from './operator-messages.js';
import { refusedKeyReason, signatureIsValid } from './public-key-auth.js';
import { parseSshUsername } from './ssh-username.js';

export type AuthOutcome =
  | (ResolvedIdentity & { kind: 'allowed'; login: string; decision: Decision; target: Target; sessionId: string })
  | (ResolvedIdentity & { kind: 'denied'; message: string })
  /** The SSH user `request`: the access request door, no target. */
  | (ResolvedIdentity & { kind: 'request' });

/** The SSH user name of the access request door (`ssh request@gateway web1 --reason …`). */
export const REQUEST_DOOR_USER = 'request';

const METHODS: Array<'publickey' | 'keyboard-interactive'> = ['publickey', 'keyboard-interactive'];
const MAX_FAILURES = 20;

/**
 * SSH user authentication for one connection. Only public keys prove who someone is: a key
 * that belongs to an identity is accepted once its signature verifies, and the access
 * decision for the requested target and login is made then. A denied identity is let in
 * only to be told why on its first channel (OpenSSH shows channel stderr in every mode,
 * BatchMode, scp and sftp included). Keys that belong to nobody are refused so the client
 * can try its next key; when it has none left it falls back to keyboard-interactive, whose
 * instruction text carries the readable reason.
 */
export class SshAuthenticator {
  outcome: AuthOutcome | null = null;
  private readonly unknownKeys = new Set<string>();
  private lastProblem: string | null = null;
  private failures = 0;
  private failureRecorded = false;
  private attempted = false;

  constructor(
    private readonly access: AccessControl,
    private readonly clientAddr: string | null,
    private readonly logger: Logger,
    private readonly onTooManyFailures: () => void,
    private readonly newSessionId: () => string,
  ) {}

  async handle(ctx: AuthContext): Promise<void> {
    try {
      if (this.outcome) return ctx.reject();
      if (ctx.method === 'publickey') return await this.publicKey(ctx);
      if (ctx.method === 'keyboard-interactive') return this.explain(ctx);
      if (ctx.method !== 'none') this.attempted = true;
      ctx.reject(METHODS);
    } catch (err) {
      this.logger.error('ssh authentication failed', { error: err, clientAddr: this.clientAddr });
      this.lastProblem = messages.unavailable;
      this.fail(ctx);
    }
  }

  /** The connection closed before anyone was let in: one audit event for the attempt. */
  async connectionClosed(username: string | null): Promise<void> {
    if (this.outcome || !this.attempted) return;
    await this.recordFailure(username);
  }

  private async publicKey(ctx: PublicKeyAuthContext): Promise<void> {
    this.attempted = true;
    const fingerprint = sshFingerprint(ctx.key.data);
    const refused = refusedKeyReason(ctx.key.algo, ctx.hashAlgo);
    if (refused) {
      this.lastProblem = `custos: access denied: key ${fingerprint}: ${refused}`;
      return this.fail(ctx);
    }
    const resolved = await this.access.identityForSshKey(ctx.key);
    if (!resolved) {
      this.unknownKeys.add(fingerprint);
      return this.fail(ctx);
    }
    // The query without a signature: say the key would do, so the client signs with it.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (!signatureIsValid(ctx.key.data, ctx.blob, ctx.signature, ctx.hashAlgo)) {
      await this.access.recordAuthFailure({
        protocol: 'ssh',
        clientAddr: this.clientAddr,
        claimed: resolved.identity.name,
        credential: resolved.credential.id,
        reason: 'the public key signature does not verify',
      });
      this.lastProblem = `custos: access denied: the signature made with key ${fingerprint} does not verify`;
      return this.fail(ctx);
    }
    this.outcome = ctx.username === REQUEST_DOOR_USER ? { ...resolved, kind: 'request' } : await this.decide(resolved, ctx.username);
    ctx.accept();
  }

  private async decide(resolved: ResolvedIdentity, username: string): Promise<AuthOutcome> {
    const destination = parseSshUsername(username);
    if ('error' in destination) return { ...resolved, kind: 'denied', message: messages.accessDenied(destination.error) };
    let result: Awaited<ReturnType<AccessControl['authorize']>>;
    const sessionId = this.newSessionId();
    try {
      result = await this.access.authorize({
        identity: resolved.identity,
        credential: resolved.credential,
        targetName: destination.target,
        action: { kind: 'ssh.session', ...(destination.login ? { login: destination.login } : {}) },
        protocol: 'ssh',
        clientAddr: this.clientAddr,
        sessionId,
      });
    } catch (err) {
      // The decision could not be written to the audit log: fail closed.
      this.logger.error('ssh access decision could not be recorded', { error: errorMessage(err) });
      return { ...resolved, kind: 'denied', message: messages.unavailable };
    }
    const { decision, target } = result;
    if (!decision.allow || !target || !decision.login) {
      return { ...resolved, kind: 'denied', message: messages.accessDenied(decision.reason) };
    }
    return { ...resolved, kind: 'allowed', login: decision.login, decision, target, sessionId };
  }

  private explain(ctx: KeyboardAuthContext): void {
    this.attempted = true;
    const text = this.unknownKeys.size > 0 || !this.lastProblem ? messages.unknownKeys([...this.unknownKeys]) : this.lastProblem;
    ctx.prompt([], '', text, () => {
      void this.recordFailure(ctx.username);
      ctx.reject(['publickey']);
    });
  }

  private fail(ctx: AuthContext): void {
    this.failures += 1;
    ctx.reject(METHODS);
    if (this.failures >= MAX_FAILURES) {
      void this.recordFailure(ctx.username);
      this.onTooManyFailures();
    }
  }

  private async recordFailure(username: string | null): Promise<void> {
    if (this.failureRecorded) return;
    this.failureRecorded = true;
    const keys = [...this.unknownKeys];
    const reason = keys.length
      ? `no identity holds the SSH key${keys.length > 1 ? 's' : ''} offered`
      : (this.lastProblem?.replace(/^custos: access denied: /, '') ?? 'no acceptable credential was offered');
    await this.access
      .recordAuthFailure({
        protocol: 'ssh',
        clientAddr: this.clientAddr,
        claimed: null,
        credential: keys.length ? keys.map((fp) => `ssh-key:${fp}`).join(' ') : null,
        reason: username === null ? reason : `${reason} (SSH user "${username.slice(0, 200)}")`,
      })
      .catch((error: unknown) => this.logger.error('could not record an ssh authentication failure', { error }));
  }
}
