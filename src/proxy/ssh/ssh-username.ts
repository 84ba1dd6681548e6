/**
 * The SSH user name says where the operator wants to go: `login@target` (login `deploy`
 * on target `web1` for `ssh deploy@web1@gateway`; OpenSSH splits user and host at the
 * last `@`) or a bare `target` (the first login the operator's roles allow there).
 */
export interface SshDestination {
  target: string;
  login: string | null;
}

const PART = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,127}$/;

export function parseSshUsername(username: string): SshDestination | { error: string } {
  const at = username.lastIndexOf('@');
  const login = at >= 0 ? username.slice(0, at) : null;
  const target = at >= 0 ? username.slice(at + 1) : username;
  if (!PART.test(target)) {
    return { error: `"${printable(username)}" does not name a target: connect as login@target or target (for example deploy@web1@gateway)` };
  }
  if (login !== null && !PART.test(login)) {
    return { error: `"${printable(login)}" is not a valid login: connect as login@target or target` };
  }
  return { target, login };
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}
