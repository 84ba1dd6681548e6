import { ProxyError } from '../../errors.js';

/** The ProxyError code of a session that reached its limit; the session ends with SQLSTATE 53400. */
export const PREPARED_LIMIT = 'prepared_statement_limit';

export interface PreparedLimits {
  /** Named prepared statements and portals a session may hold (postgres.maxPreparedStatements). */
  maxObjects: number;
  /** Bytes of their statement text and bound parameters (postgres.maxPreparedBytes). */
  maxBytes: number;
}

/**
 * What one session's named prepared statements and portals cost the gateway, which keeps each
 * one's text for as long as the server holds it (forgetting one would leave a statement the
 * server can still run without its text). Past a limit the session is ended instead.
 */
export class Budget {
  private objects = 0;
  private bytes = 0;

  constructor(private readonly limits: PreparedLimits) {}

  /** Counts one more object; throws ProxyError(PREPARED_LIMIT) when that is past a limit. */
  reserve(bytes: number): void {
    const { maxObjects, maxBytes } = this.limits;
    if (this.objects + 1 > maxObjects) {
      throw new ProxyError(
        PREPARED_LIMIT,
        `the session would hold more than ${maxObjects} named prepared statements and portals, the most the gateway keeps for one session (postgres.maxPreparedStatements)`,
      );
    }
    if (this.bytes + bytes > maxBytes) {
      throw new ProxyError(
        PREPARED_LIMIT,
        `the named prepared statements and portals of the session would hold more than ${maxBytes} bytes of statement text and parameters, the most the gateway keeps for one session (postgres.maxPreparedBytes)`,
      );
    }
    this.objects += 1;
    this.bytes += bytes;
  }

  release(bytes: number): void {
    this.objects -= 1;
    this.bytes -= bytes;
  }
}
