import type { KubernetesRequestAction } from './model.js';
import type { KubeRule } from './resource-schemas.js';

/**
 * Whether a role's `kubeRules` let a Kubernetes request through, matched the way RBAC
 * matches a PolicyRule (k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go): a role
 * without rules leaves the decision to the cluster's RBAC for the impersonated user; a role
 * with rules needs one rule whose verbs, API groups, resources and namespaces all match.
 * Non-resource requests (`/version`, discovery, OpenAPI) pass: every client needs them.
 */
export function kubeRulesAllow(rules: KubeRule[] | undefined, request: KubernetesRequestAction): boolean {
  if (rules === undefined || !request.verb || !request.resource) return true;
  return rules.some((rule) => ruleMatches(rule, request));
}

function ruleMatches(rule: KubeRule, request: KubernetesRequestAction): boolean {
  return (
    matchesOrStar(rule.verbs, request.verb!) &&
    matchesOrStar(rule.apiGroups ?? ['*'], request.apiGroup ?? '') &&
    resourceMatches(rule.resources, request.resource!, request.subresource ?? '') &&
    matchesOrStar(rule.namespaces, request.namespace ?? '', { emptyNeedsStar: true })
  );
}

/** `*` matches anything; an empty requested value (cluster scope) only `*` when asked. */
function matchesOrStar(allowed: string[], requested: string, options: { emptyNeedsStar?: boolean } = {}): boolean {
  if (allowed.includes('*')) return true;
  if (options.emptyNeedsStar && requested === '') return false;
  return allowed.includes(requested);
}

/** RBAC's ResourceMatches: `*`, `resource`, `resource/subresource`, or `*` + `/subresource`. */
function resourceMatches(allowed: string[], resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return allowed.some((entry) => entry === '*' || entry === combined || (subresource !== '' && entry === `*/${subresource}`));
}

/** The request in words, for refusals: `create pods/exec "web-0" in namespace "prod"`. */
export function describeKubeRequest(request: KubernetesRequestAction): string {
  if (!request.verb) return 'use the cluster';
  if (!request.resource) return `${request.verb} ${request.path ?? 'a non-resource path'}`;
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const group = request.apiGroup ? ` (API group ${request.apiGroup})` : '';
  const name = request.name ? ` "${request.name}"` : '';
  const scope = request.namespace ? ` in namespace "${request.namespace}"` : ' at cluster scope';
  return `${request.verb} ${resource}${group}${name}${scope}`;
}
