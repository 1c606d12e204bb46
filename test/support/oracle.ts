// Helpers of the differential suites against Vault Proxy (test/e2e/vault-proxy-oracle*.test.ts):
// the same request goes to the real `vault proxy` and to Envoy + vault-extproc, and what a client
// reads of each answer is compared.
import type { RawResponse } from './raw-http.js';

/** The stanzas both sides get: requests without a token use the auto-auth token; the lease cache is on. */
export const AUTO_AUTH_LEASE_CACHE = `api_proxy {
  use_auto_auth_token = true
}
cache {}
`;

/** The header `require_request_header` asks for. */
export const X_VAULT_REQUEST: [string, string] = ['x-vault-request', 'true'];
export const JSON_BODY: [string, string] = ['content-type', 'application/json'];

/** What a client reads of an answer: status, content type, body (JSON without its per-request id). */
export interface ClientView { status: number; contentType: string | undefined; body: unknown }

export function clientView(res: RawResponse): ClientView {
  let body: unknown = res.body;
  try {
    const json = JSON.parse(res.body) as Record<string, unknown>;
    delete json['request_id'];
    body = json;
  } catch {
    // not JSON: compared as text
  }
  return { status: res.status, contentType: res.headers['content-type'], body };
}

/** Keys whose string values are per-issue identifiers, and the name their placeholders get. */
const ID_KEYS: Record<string, string> = {
  client_token: 'token', id: 'token', token: 'token',
  accessor: 'accessor', lease_id: 'lease', entity_id: 'entity',
  username: 'username', password: 'password', request_id: 'request',
};
const TOKEN_SHAPE = /^(hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{20,}$/;
const TIME_SHAPE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const TIME_KEYS = /(^|_)(time|ttl)$|^last_renewal$/;

/**
 * One side's names for the values it was given: what a sequence saved under a name (`child`,
 * `lease`) is written `<child>`; any other identifier `<token@3>`, `<lease@5>` … after the step of
 * the sequence whose answer first showed it. So "the same token as the first login" reads the
 * same on both sides though the tokens differ, and one side's extra value does not shift the
 * names of the next ones. Times and TTLs (which tick) become `<time>` and `<ttl>`.
 */
export class Names {
  private readonly byValue = new Map<string, string>();
  /** The step whose answer is being named (1-based). */
  step = 0;

  /** Names a value the sequence saved (the token it will send, the lease it will revoke). */
  name(label: string, value: string): void {
    this.byValue.set(value, `<${label}>`);
  }

  private placeholder(kind: string, value: string): string {
    const known = this.byValue.get(value);
    if (known) return known;
    let p = `<${kind}@${this.step}>`;
    for (let n = 2; [...this.byValue.values()].includes(p); n++) p = `<${kind}@${this.step}.${n}>`;
    this.byValue.set(value, p);
    return p;
  }

  normalise(value: unknown, key = ''): unknown {
    if (Array.isArray(value)) return value.map((v) => this.normalise(v));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, this.normalise(v, k)]));
    }
    if (TIME_KEYS.test(key) && (typeof value === 'number' || (typeof value === 'string' && value !== ''))) return key.endsWith('ttl') ? '<ttl>' : '<time>';
    if (typeof value !== 'string' || value === '') return value;
    if (this.byValue.has(value)) return this.byValue.get(value);
    if (TIME_SHAPE.test(value)) return '<time>';
    const kind = ID_KEYS[key] ?? (TOKEN_SHAPE.test(value) ? 'token' : undefined);
    return kind ? this.placeholder(kind, value) : value;
  }
}
