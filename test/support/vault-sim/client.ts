// A minimal Vault client for tests that talk to the simulator (or any Vault) over HTTP.
import type { VaultSim } from './server.js';

export interface SimResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body; undefined when empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

export interface SimCallOptions {
  /** Defaults to the root token; null sends no token. */
  readonly token?: string | null;
  /** Sent as JSON unless it is already a string. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export class SimClient {
  constructor(private readonly sim: Pick<VaultSim, 'url' | 'rootToken'>) {}

  /** `path` is relative to /v1/ and may carry a query string. */
  async call(method: string, path: string, opts: SimCallOptions = {}): Promise<SimResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? this.sim.rootToken : opts.token;
    if (token !== null) headers['X-Vault-Token'] = token;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(`${this.sim.url}/v1/${path}`, { method, headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** A token created by root with these policies (plus `extra` create parameters). */
  async tokenWith(policies: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const res = await this.call('POST', 'auth/token/create', { body: { policies, ...extra } });
    if (res.status !== 200) throw new Error(`token create failed: ${res.status} ${res.text}`);
    return res.json.auth.client_token as string;
  }

  async writePolicy(name: string, policy: string): Promise<void> {
    const res = await this.call('PUT', `sys/policies/acl/${name}`, { body: { policy } });
    if (res.status !== 204) throw new Error(`policy write failed: ${res.status} ${res.text}`);
  }
}
