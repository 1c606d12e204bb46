// The consistency profile: Vault Enterprise's X-Vault-Index (a performance standby that can lag
// behind the active node on purpose), and the namespaces profile's routing of auth and sys paths.
import { createHmac, randomBytes } from 'node:crypto';
import { errorReply, type Reply } from './envelope.js';
import type { HttpInput } from './pipeline.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Vault Enterprise 1.7+: every request that modifies storage is answered with `X-Vault-Index`
 * (base64 of `v1:<cluster id>:<local index>:<replicated index>:<hmac>`); a request carrying
 * X-Vault-Index lines whose state the answering node has not reached gets 412
 * `required index state not present` (logical.ErrMissingRequiredState), unless it asks to be
 * forwarded to the active node (`X-Vault-Inconsistent: forward-active-node`, allowed here as with
 * allow_forwarding_via_header). The node answering reads sees writes at once, unless told to lag.
 */
export class ConsistencySim {
  private readonly key = randomBytes(32);
  /** The active node's index: one more per write. */
  private written = 0;
  /** What the node answering reads has reached. */
  private visible = 0;
  /** The next this-many requests that need a newer state than `visible` get 412; then it catches up. */
  private lagBudget = 0;
  private held = false;
  /** Requests answered 412, and requests the active node served because they asked to be forwarded. */
  refused = 0;
  forwarded = 0;

  constructor(private readonly clusterId: string) {}

  /** Lag on purpose: the next `requests` requests needing a state not reached yet get 412, then the node catches up. */
  lag(requests: number): void {
    this.lagBudget = requests;
  }

  /** Lag until release(): every request needing a newer state gets 412. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.lagBudget = 0;
    this.visible = this.written;
  }

  /** The state header for an index of this cluster. */
  stateOf(localIndex: number, clusterId = this.clusterId): string {
    const state = `v1:${clusterId}:${localIndex}:0`;
    const mac = createHmac('sha256', this.key).update(state).digest('hex');
    return Buffer.from(`${state}:${mac}`).toString('base64');
  }

  /** The local index a state names, or undefined when it is not one of ours (bad format, HMAC or cluster). */
  private indexOf(raw: string): number | undefined {
    const text = Buffer.from(raw, 'base64').toString('latin1');
    const cut = text.lastIndexOf(':');
    if (cut < 0) return undefined;
    const state = text.slice(0, cut);
    const mac = createHmac('sha256', this.key).update(state).digest('hex');
    const pieces = state.split(':');
    if (mac !== text.slice(cut + 1) || pieces.length !== 4 || pieces[0] !== 'v1' || pieces[1] !== this.clusterId) return undefined;
    return Number(pieces[2]);
  }

  /** 412 for a request whose required state this node has not reached (and that is not forwarded). */
  gate(input: HttpInput): Reply | undefined {
    const states = input.headerValues['x-vault-index'] ?? [];
    if (states.length === 0) return undefined;
    const forward = input.headerValues['x-vault-inconsistent']?.[0] === 'forward-active-node'
      || input.headerValues['x-vault-forward']?.[0] === 'active-node';
    const needed = states.map((s) => this.indexOf(s));
    const missing = needed.some((n) => n === undefined || n > this.visible);
    if (!missing) return undefined;
    if (forward && needed.every((n) => n !== undefined && n <= this.written)) {
      this.forwarded += 1;
      return undefined;
    }
    this.refused += 1;
    if (!this.held && this.lagBudget > 0) {
      this.lagBudget -= 1;
      if (this.lagBudget === 0) this.visible = this.written;
    }
    return errorReply(412, 'required index state not present');
  }

  /** A successful write moves the index on and says so in X-Vault-Index. */
  answer(input: HttpInput, reply: Reply): Reply {
    if (!WRITE_METHODS.has(input.method) || reply.status < 200 || reply.status >= 300) return reply;
    this.written += 1;
    if (!this.held && this.lagBudget === 0) this.visible = this.written;
    return { ...reply, headers: { ...reply.headers, 'x-vault-index': this.stateOf(this.written) } };
  }
}

/**
 * The namespaces profile's paths for a request in a namespace (`ns` = `ns1/`): the namespace's
 * secrets engines live under its path (`ns1/secret/`), its auth methods in the root auth table
 * under `auth/ns1/…` (`sys/auth/approle` in ns1 mounts `auth/ns1/approle/`), its mounts are made
 * with `sys/mounts/ns1/…`; the token store and the other sys, cubbyhole and identity paths are the
 * root's (no per-namespace tokens or policies: policies name full paths such as `ns1/secret/…`).
 */
export function namespacedPath(ns: string, rel: string): string {
  if (ns === '') return rel;
  if (rel === 'auth/token' || rel.startsWith('auth/token/')) return rel;
  if (rel.startsWith('auth/')) return `auth/${ns}${rel.slice('auth/'.length)}`;
  for (const table of ['sys/auth/', 'sys/mounts/']) if (rel.startsWith(table)) return `${table}${ns}${rel.slice(table.length)}`;
  if (/^(sys|cubbyhole|identity)(\/|$)/.test(rel)) return rel;
  return `${ns}${rel}`;
}
