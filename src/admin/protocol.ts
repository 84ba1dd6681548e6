/**
 * The admin socket speaks newline-delimited JSON: one request per line, one response per
 * request, matched by `id`. Requests carry no identity: the server learns the caller's OS
 * user from the socket itself.
 */
export interface AdminRequest {
  id: number;
  op: string;
  args: Record<string, unknown>;
}

export type AdminResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { layer: string; code: string; message: string } };

/** Largest request line accepted (a resources file travels in one). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
