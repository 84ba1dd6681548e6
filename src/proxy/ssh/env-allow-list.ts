/**
 * Environment variables an operator's client may set on the target (`SendEnv`/`SetEnv`):
 * locale and terminal type only. Anything else (LD_PRELOAD, PATH, BASH_ENV …) could change
 * what the session runs on the target, so it is not passed on.
 */
export function isAllowedEnv(name: string): boolean {
  return name === 'LANG' || name === 'TERM' || /^LC_[A-Z_]+$/.test(name);
}
