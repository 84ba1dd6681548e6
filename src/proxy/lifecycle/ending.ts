/**
 * Why the gateway ends a live session. `reason` is recorded as the session's end reason;
 * `message` is what the client is told (SSH: `custos: <message>` on the terminal;
 * PostgreSQL: `FATAL 57P01 terminating connection: <message>`; Kubernetes: a Status).
 */
export interface Ending {
  kind: 'terminated' | 'revoked' | 'expired' | 'shutdown' | 'failed';
  reason: string;
  message: string;
}

export const endings = {
  /** `custos sessions kill` or the viewer's terminate button. */
  terminated: (actor: string, reason: string): Ending => ({
    kind: 'terminated',
    reason: `ended by ${actor}: ${reason}`,
    message: `session ended by ${actor}: ${reason}`,
  }),
  /** A permission change took away the access the session was opened with. */
  revoked: (reason: string): Ending => ({ kind: 'revoked', reason: `access revoked: ${reason}`, message: `access revoked: ${reason}` }),
  ttl: (roles: string[], until: Date): Ending => ({
    kind: 'expired',
    reason: `the session reached its maximum lifetime (maxSessionTTL of role ${roles.join(', ')})`,
    message: `the session reached its maximum lifetime (maxSessionTTL of role ${roles.join(', ')}, ${until.toISOString()}) and is closed`,
  }),
  credentialExpired: (credential: string, at: Date): Ending => ({
    kind: 'expired',
    reason: `the credential of the session (${credential}) expired at ${at.toISOString()}`,
    message: `the credential this session was opened with (${credential}) expired at ${at.toISOString()}; the session is closed`,
  }),
  /** The approved request the session ran under ended (its time ran out, or it was revoked); `message` names it. */
  grantEnded: (kind: 'expired' | 'revoked', message: string): Ending => ({ kind, reason: message, message }),
  shutdown: (): Ending => ({ kind: 'shutdown', reason: 'the gateway shut down', message: 'the gateway is shutting down' }),
  failed: (reason: string, message: string): Ending => ({ kind: 'failed', reason, message }),
};
