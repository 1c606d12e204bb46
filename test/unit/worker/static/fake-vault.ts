// A stand-in for VaultClient in the worker's unit tests: tokens with their lookup-self data and
// readable paths, a latency, and faults (unreachable, an error status). Records every call.
import { VaultResponseError, VaultUnreachableError } from '../../../../src/errors.js';
import type { VaultClient, VaultReply, VaultRequest } from '../../../../src/vault/client.js';

export interface FakeToken {
  accessor: string;
  numUses?: number;
  boundCidrs?: string[];
  expireTime?: string | null;
  /** Paths it reads; everything else is denied. */
  reads: Set<string>;
  revoked?: boolean;
}

export interface FakeCall {
  path: string;
  token: string | undefined;
  body: unknown;
  retry: boolean | undefined;
  timeoutMs: number | undefined;
  startMs: number;
  endMs?: number;
}

export class FakeVault {
  readonly tokens = new Map<string, FakeToken>();
  readonly calls: FakeCall[] = [];
  latencyMs = 0;
  /** Every call fails as if Vault could not be reached. */
  unreachable = false;
  /** Every call is answered with this status (an error). */
  failWith: number | undefined;
  health: unknown = { initialized: true, sealed: false, standby: false, performance_standby: false, version: '1.15.6' };
  inFlight = 0;
  peakInFlight = 0;

  addToken(token: string, t: Partial<Omit<FakeToken, 'reads'>> & { reads?: Iterable<string> } = {}): void {
    this.tokens.set(token, { accessor: `acc-${token}`, numUses: 0, expireTime: null, ...t, reads: new Set(t.reads ?? []) });
  }

  callsTo(path: string): FakeCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  get client(): VaultClient {
    return this as unknown as VaultClient;
  }

  async request<D>(req: VaultRequest): Promise<VaultReply<D>> {
    const reply = await this.send<D>(req);
    if (reply.status >= 200 && reply.status < 300) return reply;
    throw new VaultResponseError(reply.status, ['permission denied'], req.path);
  }

  async send<D>(req: VaultRequest): Promise<VaultReply<D>> {
    const call: FakeCall = { path: req.path, token: req.token, body: req.body, retry: req.retry, timeoutMs: req.timeoutMs, startMs: Date.now() };
    this.calls.push(call);
    // In flight: the calls made for tokens (sys/health is the worker's own, outside the pool).
    const counted = !req.path.startsWith('sys/health');
    if (counted) this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    try {
      if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
      if (this.unreachable) throw new VaultUnreachableError(req.path, new Error('connect ECONNREFUSED'));
      if (this.failWith) return { status: this.failWith, body: { errors: ['boom'] } as never };
      return this.answer<D>(req);
    } finally {
      if (counted) this.inFlight--;
      call.endMs = Date.now();
    }
  }

  private answer<D>(req: VaultRequest): VaultReply<D> {
    if (req.path.startsWith('sys/health')) return { status: 200, body: this.health as never };
    const t = req.token === undefined ? undefined : this.tokens.get(req.token);
    if (!t || t.revoked) return { status: 403, body: { errors: ['permission denied'] } as never };
    if (t.numUses && t.numUses > 0) t.numUses = t.numUses === 1 ? -1 : t.numUses - 1;
    if (req.path === 'auth/token/lookup-self') {
      return {
        status: 200,
        body: { data: { accessor: t.accessor, num_uses: t.numUses, expire_time: t.expireTime, ...(t.boundCidrs ? { bound_cidrs: t.boundCidrs } : {}) } } as never,
      };
    }
    if (req.path === 'sys/capabilities-self') {
      const paths = (req.body as { paths: string[] }).paths;
      const data = Object.fromEntries(paths.map((p) => [p, t.reads.has(p) ? ['read'] : ['deny']]));
      return { status: 200, body: { ...data, data } as never };
    }
    return { status: 404, body: { errors: [] } as never };
  }
}

export async function until<T>(what: string, check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
