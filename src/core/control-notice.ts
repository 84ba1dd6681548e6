/**
 * A control notice: announced by the store on commit of an audit event that can change what
 * a live session may do (a `session.terminate`, a resource / permission / credential / token
 * change, an approval request or grant event). Every gateway sharing the store receives every
 * notice; the one holding the session acts on it. See drizzle/0003_session_control.sql.
 */
export interface ControlNotice {
  seq: number;
  type: string;
  actor: string;
  identity: string | null;
  sessionId: string | null;
  target: string | null;
  /** `data.reason` of the event, cut at 1000 characters. */
  reason: string | null;
}

/**
 * Delivery of control notices to this process (PostgreSQL LISTEN/NOTIFY; on embedded PGlite
 * the same, inside the one process that holds the store). `onGap` is called after the
 * subscription was lost and re-established: notices may have been missed, so the listener
 * must re-check everything it holds.
 */
export interface ControlChannel {
  subscribe(listener: (notice: ControlNotice) => void, onGap?: () => void): Promise<() => Promise<void>>;
}
