import type { StoredResponse } from '../cache/entry.js';

/**
 * What a phase handler decides, independent of Envoy's message shapes. messages.ts is the one
 * place that turns decisions into ext_proc replies.
 */
export type RequestDecision =
  | {
      kind: 'respond';
      status: number;
      headers: Record<string, string>;
      body: string | Buffer;
      /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. vault_extproc_missing_request_header. */
      details: string;
    }
  | {
      kind: 'continue';
      setHeaders: Record<string, string>;
      removeHeaders: string[];
      /** The request carries the auto-auth token we added (a 403 then makes the worker check it). */
      injectedAutoAuth: boolean;
      /** Ask for the buffered response body too: it may echo the auto-auth token. */
      sanitizeResponse: boolean;
      /** The token the request reaches Vault with (the client's or the auto-auth token), if any. */
      effectiveToken: string | undefined;
      /** Header lines added after the set ones, repeated names kept (X-Vault-Index may need two). */
      appendHeaders?: Array<[string, string]>;
    };

/** A Vault-style JSON error reply: `{"errors":[...]}` with the given status. */
export function vaultError(status: number, message: string, details: string): RequestDecision {
  return {
    kind: 'respond',
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: `${JSON.stringify({ errors: [message] })}\n`,
    details,
  };
}

/** A cache hit: the stored response plus `X-Cache: HIT`, `Age` (whole seconds since Vault's Date) and a fresh `Date`. */
export function cacheHit(stored: StoredResponse, nowMs: number, namespace?: string): RequestDecision {
  const headers: Record<string, string> = {};
  for (const [k, v] of stored.headers) headers[k] = v;
  // Vault echoes the X-Vault-Namespace the request sent.
  if (namespace !== undefined) headers['x-vault-namespace'] = namespace;
  headers['x-cache'] = 'HIT';
  headers['age'] = String(Math.max(0, Math.floor((nowMs - stored.storedAtMs) / 1000)));
  headers['date'] = httpDate(nowMs);
  const body = Buffer.from(stored.body.buffer, stored.body.byteOffset, stored.body.byteLength); // no copy
  return { kind: 'respond', status: stored.status, headers, body, details: 'vault_extproc_cache_hit' };
}

let dateSecond = -1;
let dateText = '';

/** The HTTP Date for a moment, formatted once per second. */
function httpDate(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
