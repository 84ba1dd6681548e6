import type { RoleSpec, TargetSpec } from './resource-schemas.js';

/** Who is acting: a resolved identity, human or bot (bots always have a human owner). */
export interface Identity {
  id: string;
  name: string;
  kind: 'human' | 'bot';
  owner: string | null;
  roles: string[];
}

/** How the identity proved itself: `ssh-key:SHA256:…` or a token id. */
export interface Credential {
  id: string;
  kind: 'ssh-key' | 'token' | 'os-user';
  /** When the credential stops proving the identity (a token's expiry); sessions it opened end then. */
  expiresAt?: Date | null;
}

export interface Role {
  name: string;
  spec: RoleSpec;
}

/** A declared target as the proxies see it (credentials are env:/file: references). */
export interface Target {
  name: string;
  protocol: TargetRef['protocol'];
  address: string;
  labels: Record<string, string>;
  spec: TargetSpec;
}

export interface TargetRef {
  name: string;
  protocol: 'ssh' | 'postgres' | 'kubernetes';
  labels: Record<string, string>;
}

/**
 * A time-boxed access given by an approved request: the role that requires approval, limited
 * to the request's target and principal (when given), from `startsAt` until `expiresAt`.
 */
export interface Grant {
  id: string;
  /** The approved request it comes from (req_…); the grant id when not given. */
  request?: string;
  role: Role;
  ticket: string | null;
  /** Only this target (default: every target the role selects). */
  target?: string;
  /** Only these logins / database users / Kubernetes groups (default: all the role lists). */
  logins?: string[];
  dbUsers?: string[];
  kubeGroups?: string[];
  /** The identities that approved it. */
  approvers?: string[];
  startsAt?: Date;
  expiresAt: Date;
}

/**
 * The approval a session runs under: the evidence tags its row, its audit events and its
 * recordings carry (`custos.approval` in an asciicast header).
 */
export interface Approval {
  /** The grant (grt_…). */
  id: string;
  /** The approved request (req_…). */
  request: string;
  ticket: string | null;
  approvers: string[];
  /** When the access ends. */
  until: Date;
}

export type Action =
  | { kind: 'ssh.session'; login?: string }
  | { kind: 'ssh.port-forward'; login: string; host: string; port: number }
  | { kind: 'postgres.connect'; dbUser?: string }
  | KubernetesRequestAction;

/**
 * A Kubernetes API request (verb, API group, resource … as kube-apiserver derives them from
 * the request). Without `verb` it asks for access to the cluster at all (the API session);
 * with a verb and an empty `resource` it is a non-resource request (`/version`, discovery).
 */
export interface KubernetesRequestAction {
  kind: 'kubernetes.request';
  /** The Kubernetes user the client asks to act as (one of the role's kubeUsers). */
  user?: string;
  verb?: string;
  /** '' for the core group. */
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  /** '' for cluster-scoped requests and requests across all namespaces. */
  namespace?: string;
  name?: string;
  /** The path of a non-resource request. */
  path?: string;
}

export interface Decision {
  allow: boolean;
  /** Human-readable, safe to show the operator. */
  reason: string;
  /** Roles (or grant roles) that allowed the action. */
  roles: string[];
  login?: string;
  dbUser?: string;
  kubeUsers?: string[];
  kubeGroups?: string[];
  /** The approval the access was allowed under, when a grant (not a standing role) allowed it. */
  grant?: Approval;
  /** When the session must end (the smallest maxSessionTTL of the allowing roles, a grant's end). */
  expiresAt?: Date;
  recordInput: boolean;
  portForwarding: boolean;
  /** Every allowed session is recorded; there is no way to turn that off. */
  record: true;
}
