/**
 * PostgreSQL's CancelRequest routing needs a mapping from the backend key the gateway gave a
 * client to the upstream backend's real key, shared by every gateway process (a cancel may
 * arrive at any of them). The composition root wires the store's table behind this.
 */
export interface CancelKeyEntry {
  processId: number;
  /** sha256 of the gateway-issued secret, hex. */
  secretKey: string;
  sessionId: string;
  node: string;
  upstreamAddress: string;
  upstreamProcessId: number;
  /** The upstream backend's secret, hex (it is only good for cancelling that backend). */
  upstreamSecretKey: string;
  createdAt: Date;
}

export interface CancelKeyStore {
  /** False when the process id is already taken. */
  insert(entry: CancelKeyEntry): Promise<boolean>;
  get(processId: number): Promise<CancelKeyEntry | null>;
  deleteForSession(sessionId: string): Promise<void>;
  /** Keys a node left behind when it stopped without ending its sessions. */
  deleteForNode(node: string): Promise<number>;
}
