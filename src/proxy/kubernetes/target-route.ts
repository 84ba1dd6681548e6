import { KUBE_TARGET_PATH_PREFIX } from './kubeconfig-writer.js';

/** Where a request is going: the target named in its path, and the API path after it. */
export interface TargetRoute {
  target: string;
  /** The request target after `/k8s/<target>`, raw (path and query), forwarded unchanged. */
  rest: string;
}

/**
 * Splits `/k8s/<target>/<api path>?<query>`; null when the path is not under `/k8s/` or
 * names no target. The rest is never normalized: what is decided is what is forwarded.
 */
export function targetRoute(url: string): TargetRoute | null {
  if (!url.startsWith(KUBE_TARGET_PATH_PREFIX)) return null;
  const after = url.slice(KUBE_TARGET_PATH_PREFIX.length);
  const end = after.search(/[/?]/);
  const encoded = end < 0 ? after : after.slice(0, end);
  let target: string;
  try {
    target = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  if (target === '') return null;
  const rest = end < 0 ? '/' : after[end] === '?' ? `/${after.slice(end)}` : after.slice(end);
  return { target, rest };
}
