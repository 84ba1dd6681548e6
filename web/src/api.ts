export interface Rights {
  sessions: 'none' | 'own' | 'all';
  queries: 'none' | 'own' | 'all';
  audit: boolean;
  terminate: boolean;
}

export interface Me {
  identity: { name: string; kind: string; owner: string | null; roles: string[] };
  rights: Rights;
  csrfToken: string;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let me: Me | null = null;

export function currentViewer(): Me | null {
  return me;
}

export function setViewer(value: Me | null): void {
  me = value;
}

async function parse<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { message?: string };
    if (body.message) message = body.message;
  } catch {
    // not JSON
  }
  throw new ApiError(response.status, message);
}

export async function get<T>(path: string): Promise<T> {
  return parse<T>(await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } }));
}

/** State-changing requests carry the session's CSRF token. */
export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (me) headers['x-csrf-token'] = me.csrfToken;
  return parse<T>(await fetch(path, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(body) }));
}

/** A query string from the non-empty fields; times from datetime-local inputs become ISO. */
export function queryString(fields: Record<string, string | undefined>, timeFields: string[] = ['since', 'until']): string {
  const params = new URLSearchParams();
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw?.trim();
    if (!value) continue;
    if (timeFields.includes(key)) {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) params.set(key, date.toISOString());
    } else params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
