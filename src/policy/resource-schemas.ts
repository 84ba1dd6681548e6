import { z } from 'zod';
import { isDuration } from '../core/duration.js';
import { parseHostPort } from '../core/listener.js';
import { isSecretRef } from '../core/secret-ref.js';
import { parsePublicKeyLine } from './ssh-keys.js';

/**
 * The declared resources: `kind: target | identity | role`, each with `name` and `spec`.
 * Schemas are strict: an unknown field is an error, never silently ignored.
 */
export const RESOURCE_KINDS = ['target', 'identity', 'role'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const IDENTITY_NAME = /^[A-Za-z0-9]([A-Za-z0-9._@+-]{0,126}[A-Za-z0-9])?$/;

const secretRef = z.string().refine(isSecretRef, {
  message: 'secrets are given as env:NAME or file:PATH, never as values',
});

const hostPort = z.string().refine(
  (text) => {
    try {
      parseHostPort(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected host:port' },
);

function publicKeyLine(message: string) {
  return z.string().refine(
    (line) => {
      try {
        parsePublicKeyLine(line);
        return true;
      } catch {
        return false;
      }
    },
    { message },
  );
}

const duration = z.string().refine(isDuration, { message: 'expected a duration such as 8h, 30m or 1h30m' });

const credentialSet = z
  .object({
    username: z.string().min(1).optional(),
    password: secretRef.optional(),
    privateKey: secretRef.optional(),
    passphrase: secretRef.optional(),
  })
  .strict();

export const targetSpecSchema = z
  .object({
    protocol: z.enum(['ssh', 'postgres', 'kubernetes']),
    address: hostPort,
    labels: z.record(z.string().regex(/^[A-Za-z0-9._/-]+$/), z.string()).default({}),
    description: z.string().optional(),
    credentials: credentialSet
      .extend({
        /** Per-login (SSH) or per-database-user (PostgreSQL) credentials, overriding the defaults above. */
        users: z.record(z.string(), credentialSet.omit({ username: true })).optional(),
      })
      .strict()
      .optional(),
    hostKey: publicKeyLine('expected an OpenSSH public key line (e.g. the contents of ssh_host_ed25519_key.pub)').optional(),
    database: z.string().min(1).optional(),
    /** The cluster and the gateway's own credentials for it: file:PATH, or env:NAME holding the kubeconfig YAML. */
    kubeconfig: secretRef.optional(),
    tls: z
      .object({
        mode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
        ca: z.string().startsWith('file:', 'expected file:PATH').optional(),
        serverName: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.protocol === 'ssh' && !spec.hostKey) {
      ctx.addIssue({ code: 'custom', path: ['hostKey'], message: 'an ssh target needs its pinned host key (spec.hostKey)' });
    }
    if (spec.protocol !== 'ssh' && spec.hostKey) {
      ctx.addIssue({ code: 'custom', path: ['hostKey'], message: 'hostKey applies to ssh targets only' });
    }
    if (spec.protocol !== 'postgres' && spec.database) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'database applies to postgres targets only' });
    }
    if (spec.protocol === 'kubernetes' && !spec.kubeconfig) {
      ctx.addIssue({ code: 'custom', path: ['kubeconfig'], message: "a kubernetes target needs the kubeconfig the gateway reaches it with (spec.kubeconfig: file:PATH or env:NAME)" });
    }
    if (spec.protocol !== 'kubernetes' && spec.kubeconfig) {
      ctx.addIssue({ code: 'custom', path: ['kubeconfig'], message: 'kubeconfig applies to kubernetes targets only' });
    }
  });

export const identitySpecSchema = z
  .object({
    kind: z.enum(['human', 'bot']).default('human'),
    owner: z.string().optional(),
    description: z.string().optional(),
    email: z.string().optional(),
    roles: z.array(z.string().min(1)).default([]),
    sshKeys: z.array(publicKeyLine('expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)')).default([]),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.kind === 'bot' && !spec.owner) {
      ctx.addIssue({ code: 'custom', path: ['owner'], message: 'a bot needs an owner: the human identity accountable for it' });
    }
    if (spec.kind === 'human' && spec.owner) {
      ctx.addIssue({ code: 'custom', path: ['owner'], message: 'only bots have an owner' });
    }
  });

const ticketPattern = z.string().refine(
  (text) => {
    try {
      new RegExp(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a regular expression such as ^(CHG|INC)-[0-9]+$' },
);

/**
 * Access this role allows is given only through an approved request: `approvals` distinct
 * identities holding one of the `approvers` roles approve it (never the requester, never a
 * bot, never the owner of the bot it is for), for at most `maxDuration`.
 */
export const requireApprovalSchema = z
  .object({
    approvers: z.array(z.string().min(1)).min(1, 'name at least one role whose holders may approve'),
    approvals: z.number().int().min(1).max(10).default(1),
    maxDuration: duration.default('4h'),
    ticket: z.enum(['required', 'optional']).default('optional'),
    ticketPattern: ticketPattern.optional(),
  })
  .strict();

/**
 * A Kubernetes rule of a role, read like an RBAC PolicyRule: the request's verb, resource
 * (`pods`, `pods/exec`, `*` for everything, or star-slash-subresource for that subresource
 * of any resource), namespace (`*` also covers cluster-scoped and all-namespace requests)
 * and API group (`''` is the core group; default every group).
 */
export const kubeRuleSchema = z
  .object({
    verbs: z.array(z.string().min(1)).min(1),
    resources: z.array(z.string().min(1)).min(1),
    namespaces: z.array(z.string().min(1)).min(1),
    apiGroups: z.array(z.string()).min(1).optional(),
  })
  .strict();

const selectorValue = z.union([z.string(), z.array(z.string()).min(1)]);
const accessLevel = z.enum(['none', 'own', 'all']);

export const roleSpecSchema = z
  .object({
    description: z.string().optional(),
    targets: z.record(z.string(), selectorValue).default({}),
    logins: z.array(z.string().min(1)).default([]),
    dbUsers: z.array(z.string().min(1)).default([]),
    kubeUsers: z.array(z.string().min(1)).default([]),
    kubeGroups: z.array(z.string().min(1)).default([]),
    /** Absent: the cluster's RBAC for the impersonated user decides alone; present: a request must also match one rule. */
    kubeRules: z.array(kubeRuleSchema).optional(),
    maxSessionTTL: duration.default('8h'),
    recordInput: z.boolean().default(false),
    portForwarding: z.boolean().default(false),
    requireApproval: requireApprovalSchema.optional(),
    viewer: z
      .object({
        sessions: accessLevel.default('own'),
        queries: accessLevel.default('own'),
        audit: z.boolean().default(false),
        /** May end live sessions it can see from the viewer. */
        terminate: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();

export type TargetSpec = z.infer<typeof targetSpecSchema>;
export type IdentitySpec = z.infer<typeof identitySpecSchema>;
export type RoleSpec = z.infer<typeof roleSpecSchema>;
export type ApprovalPolicy = z.infer<typeof requireApprovalSchema>;
export type KubeRule = z.infer<typeof kubeRuleSchema>;

export type ResourceDocument =
  | { kind: 'target'; name: string; spec: TargetSpec }
  | { kind: 'identity'; name: string; spec: IdentitySpec }
  | { kind: 'role'; name: string; spec: RoleSpec };

export const SPEC_SCHEMAS = {
  target: targetSpecSchema,
  identity: identitySpecSchema,
  role: roleSpecSchema,
} as const;

export function nameIsValid(kind: ResourceKind, name: string): boolean {
  return (kind === 'identity' ? IDENTITY_NAME : NAME).test(name);
}
