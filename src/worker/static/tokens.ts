import { ownString } from '../../cache/store.js';
import { hashToken } from '../../cache/token-hash.js';
import { VaultResponseError, errorMessage } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { VaultClient } from '../../vault/client.js';
import { VAULT_PATHS } from '../../vault/paths.js';
import type { WorkerMessage } from '../protocol.js';
import type { CapabilityRefresher, KnownToken } from './capabilities.js';
import type { StaticRegistry } from './registry.js';

/** Tokens remembered as never cacheable (use-limited, CIDR-bound); the oldest are forgotten first. */
const INELIGIBLE_MAX = 100_000;

interface Known extends KnownToken {
  expiry: NodeJS.Timeout | undefined;
}

interface Pending {
  token: string;
  paths: Set<string>;
}

/** What lookup-self answers, as far as eligibility goes (vault/token_store.go handleLookup). */
interface LookupData {
  accessor?: unknown;
  num_uses?: unknown;
  bound_cidrs?: unknown;
  expire_time?: unknown;
}

export interface CachedTokensOptions {
  vault: VaultClient;
  registry: StaticRegistry;
  refresher: CapabilityRefresher;
  log: Logger;
  send(msg: WorkerMessage): void;
  now?(): number;
}

/**
 * The tokens that proved read access on cached paths. A token's first proof costs one
 * `auth/token/lookup-self` with it, which decides whether it may ever be served from the cache:
 * - a use-limited token (`num_uses` other than 0: each cached answer would be a use Vault never
 *   counted; -1 means the lookup spent its last use) or one bound to CIDRs (Vault checks the
 *   client's address on every request; a cached answer cannot) is ineligible: `token-info`
 *   eligible=false, it is remembered (a bounded set) and the worker never calls Vault with it again;
 * - any other token is eligible: `token-info` with its accessor and when Vault answered for it,
 *   its paths join the registry, its capabilities are checked at the refresher's cadence, and its
 *   access ends when it expires.
 * A 403 (revoked, expired) gives `token-info` eligible=false and a `static-revoke` for that call
 * only; a failed lookup (Vault unreachable) gives nothing: without token-info the other side
 * grants nothing, and the token's next proof asks again.
 */
export class CachedTokens {
  private readonly known = new Map<string, Known>();
  private readonly pending = new Map<string, Pending>();
  private readonly ineligible = new Set<string>();
  private readonly now: () => number;
  private lookupFailures = 0;

  constructor(private readonly opts: CachedTokensOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** `static-access`: the token proved it reads `path`. */
  access(path: string, token: string): void {
    const hash = hashToken(token);
    if (this.ineligible.has(hash)) return;
    const known = this.known.get(hash);
    if (known) {
      this.opts.registry.add(path, token);
      this.opts.send({ type: 'token-info', tokenHash: hash, accessor: known.accessor, eligible: true, atMs: known.confirmedAtMs });
      return;
    }
    const waiting = this.pending.get(hash);
    if (waiting) {
      waiting.paths.add(ownString(path));
      return;
    }
    const lookup: Pending = { token: ownString(token), paths: new Set([ownString(path)]) };
    this.pending.set(hash, lookup);
    this.opts.refresher.submit(() => this.lookup(hash, lookup));
  }

  /** `token-revoked`: Vault revoked it through Envoy; forget it without a call to Vault. */
  revoked(tokenHash: string): void {
    this.pending.delete(tokenHash);
    this.opts.registry.dropToken(tokenHash);
    this.lost(tokenHash);
  }

  /** The token has no cached path left (the registry says so), or it was revoked. */
  lost(tokenHash: string): void {
    const known = this.known.get(tokenHash);
    if (!known) return;
    if (known.expiry) clearTimeout(known.expiry);
    this.known.delete(tokenHash);
    this.opts.refresher.untrack(tokenHash);
  }

  isIneligible(tokenHash: string): boolean {
    return this.ineligible.has(tokenHash);
  }

  get knownCount(): number {
    return this.known.size;
  }

  stop(): void {
    for (const k of this.known.values()) if (k.expiry) clearTimeout(k.expiry);
    this.known.clear();
    this.pending.clear();
  }

  private async lookup(hash: string, lookup: Pending): Promise<void> {
    const { vault, send, log, registry, refresher } = this.opts;
    const sentAtMs = this.now();
    let data: LookupData | null | undefined;
    try {
      const reply = await vault.request<LookupData>({ path: VAULT_PATHS.lookupSelf, token: lookup.token, timeoutMs: 10_000, retry: false });
      data = reply.body?.data;
    } catch (err) {
      if (this.pending.get(hash) !== lookup) throw err;
      this.pending.delete(hash);
      if (err instanceof VaultResponseError && err.status === 403) {
        send({ type: 'token-info', tokenHash: hash, accessor: '', eligible: false, atMs: sentAtMs });
        send({ type: 'static-revoke', tokenHash: hash, paths: [...lookup.paths] });
      } else if (this.lookupFailures++ % 100 === 0) {
        log.warn({ err: errorMessage(err), failures: this.lookupFailures }, 'could not look up a token that proved access; it is not served from the cache until a later proof');
      }
      throw err;
    }
    // Revoked through Envoy meanwhile: nothing to learn.
    if (this.pending.get(hash) !== lookup) return;
    this.pending.delete(hash);
    const accessor = typeof data?.accessor === 'string' ? data.accessor : '';
    const why = ineligibleBecause(data);
    if (why) {
      this.remember(hash);
      log.info({ why }, 'a token that proved access is never served from the cache, and never used by the worker again');
      send({ type: 'token-info', tokenHash: hash, accessor, eligible: false, atMs: sentAtMs });
      return;
    }
    const known: Known = { accessor, confirmedAtMs: sentAtMs, expiry: undefined };
    this.known.set(hash, known);
    for (const path of lookup.paths) registry.add(path, lookup.token);
    refresher.track(hash, known, sentAtMs);
    const expiresAtMs = typeof data?.expire_time === 'string' ? Date.parse(data.expire_time) : NaN;
    send({ type: 'token-info', tokenHash: hash, accessor, eligible: true, atMs: sentAtMs, ...(Number.isNaN(expiresAtMs) ? {} : { expiresAtMs }) });
    this.expireAt(hash, known, data?.expire_time);
  }

  /** Drops the token's access when Vault says it expires (none for root and periodic tokens without a TTL). */
  private expireAt(hash: string, known: Known, expireTime: unknown): void {
    const at = typeof expireTime === 'string' ? Date.parse(expireTime) : NaN;
    if (Number.isNaN(at)) return;
    const inMs = Math.max(0, at - this.now());
    known.expiry = setTimeout(() => {
      known.expiry = undefined;
      if (this.known.get(hash) !== known) return;
      const paths = this.opts.registry.pathsOf(hash);
      this.lost(hash);
      if (paths.length) {
        this.opts.log.info({ secrets: paths.length }, 'a token with cached access expired');
        this.opts.send({ type: 'static-revoke', tokenHash: hash, paths });
      }
    }, Math.min(inMs, 2 ** 31 - 1));
    known.expiry.unref?.();
  }

  private remember(hash: string): void {
    if (this.ineligible.size >= INELIGIBLE_MAX) this.ineligible.delete(this.ineligible.values().next().value as string);
    this.ineligible.add(hash);
  }
}

/** Why a cached answer would be wrong for this token, or undefined when it would not. */
export function ineligibleBecause(data: LookupData | null | undefined): string | undefined {
  if (!data || typeof data !== 'object') return 'lookup-self gave no token data';
  if (typeof data.num_uses !== 'number') return 'lookup-self did not say num_uses';
  if (data.num_uses !== 0) return 'use-limited (num_uses)';
  if (Array.isArray(data.bound_cidrs) && data.bound_cidrs.length > 0) return 'bound to CIDRs (bound_cidrs)';
  return undefined;
}
