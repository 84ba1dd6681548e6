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

/** A time-boxed extra role, given by an approval (with its ticket). */
export interface Grant {
  id: string;
  role: Role;
  ticket: string | null;
  expiresAt: Date;
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
  grant?: { id: string; ticket: string | null };
  /** When the session must end (the smallest maxSessionTTL of the allowing roles). */
  expiresAt?: Date;
  recordInput: boolean;
  portForwarding: boolean;
  /** Every allowed session is recorded; there is no way to turn that off. */
  record: true;
}
