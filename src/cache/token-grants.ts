/**
 * Which tokens may be served from the static cache right now. A proof of access (StaticCache)
 * says a token read a path once; a grant says Vault still honours the token: the worker looked it
 * up once (no use limit, no bound CIDRs: `token-info`), and Vault confirmed it since
 * (`tokens-confirmed`, or Vault answering one of its reads). A grant lasts `windowMs` after the last
 * confirmation (capability refresh interval + static_secret_max_stale), so a worker that cannot
 * reach Vault — or is stuck, or dead — cannot keep cached access alive past that bound.
 */
export class TokenGrants {
  /** tokenHash → until when cached access may be served. */
  private readonly until = new Map<string, number>();
  private readonly byAccessor = new Map<string, string>();
  private readonly accessorOf = new Map<string, string>();
  /** Tokens the worker found use-limited or CIDR-bound: never served from the cache. */
  private readonly ineligible = new Set<string>();
  /** Tokens whose first lookup is under way, with when it was asked and who waits for it. */
  private readonly pending = new Map<string, { sinceMs: number; done: Promise<void>; resolve: () => void }>();
  /** Confirmations that began at or before this moment prove nothing (a revocation through Envoy came after). */
  private revokedAtMs = -Infinity;
  /** tokenHash → when Vault said the token expires (its lookup's expire_time): never served past it. */
  private readonly expires = new Map<string, number>();
  /** serve_stale: how long past a grant's end, while Vault cannot answer, a stale answer may be given. */
  private stale: { maxMs: number; vaultDown: () => boolean; onStale: () => void } | undefined;

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** True when the token's cached access may be served now. */
  allows(tokenHash: string, nowMs: number): boolean {
    const u = this.until.get(tokenHash);
    return u !== undefined && u > nowMs && !this.expired(tokenHash, nowMs);
  }

  /**
   * `fresh` when the token's cached access may be served now; `stale` when its grant ended less
   * than serve_stale_max ago, Vault cannot answer now and the token has not expired (counted);
   * undefined otherwise. A token whose grant was taken away (revoked, expireAll) has none to be stale.
   */
  servable(tokenHash: string, nowMs: number): 'fresh' | 'stale' | undefined {
    if (this.allows(tokenHash, nowMs)) return 'fresh';
    const s = this.stale;
    const u = this.until.get(tokenHash);
    if (!s || u === undefined || nowMs >= u + s.maxMs || this.expired(tokenHash, nowMs) || !s.vaultDown()) return undefined;
    s.onStale();
    return 'stale';
  }

  /** serve_stale: stale answers for up to `maxMs` past a grant's end, while `vaultDown()` says so. */
  serveStale(maxMs: number, vaultDown: () => boolean, onStale: () => void = () => undefined): void {
    this.stale = { maxMs, vaultDown, onStale };
  }

  /** What the persistent store keeps of a token's grant. */
  snapshot(tokenHash: string): { accessor: string; untilMs: number; expiresAtMs?: number } | undefined {
    const accessor = this.accessorOf.get(tokenHash);
    const untilMs = this.until.get(tokenHash);
    if (accessor === undefined || untilMs === undefined) return undefined;
    const e = this.expires.get(tokenHash);
    return { accessor, untilMs, ...(e !== undefined ? { expiresAtMs: e } : {}) };
  }

  /**
   * A grant loaded from the persistent store: it ends when it would have ended had the process
   * not restarted (the last confirmation by Vault + the window), never later, and never past the
   * token's expiry. Only Vault confirming the token again extends it.
   */
  restore(tokenHash: string, accessor: string, untilMs: number, expiresAtMs?: number): void {
    if (this.ineligible.has(tokenHash)) return;
    this.accessorOf.set(tokenHash, accessor);
    if (accessor) this.byAccessor.set(accessor, tokenHash);
    this.until.set(tokenHash, untilMs);
    if (expiresAtMs !== undefined) this.expires.set(tokenHash, expiresAtMs);
  }

  private expired(tokenHash: string, nowMs: number): boolean {
    const e = this.expires.get(tokenHash);
    return e !== undefined && e <= nowMs;
  }

  /** While the worker's first lookup of a token is under way (at most 5 s), a promise that settles with it. */
  pendingFor(tokenHash: string): Promise<void> | undefined {
    const p = this.pending.get(tokenHash);
    return p && this.now() - p.sinceMs < PENDING_MS ? p.done : undefined;
  }

  /** The token has been seen reading (looked up, or its lookup under way): it may hold proofs of access. */
  knows(tokenHash: string): boolean {
    return this.accessorOf.has(tokenHash) || this.pending.has(tokenHash);
  }

  /** Every token seen reading. */
  known(): string[] {
    return [...new Set([...this.accessorOf.keys(), ...this.pending.keys()])];
  }

  isIneligible(tokenHash: string): boolean {
    return this.ineligible.has(tokenHash);
  }

  /**
   * Vault answered a read made with this token at `sentAtMs` (when the request left us). A token the
   * worker has looked up is confirmed; an unknown one waits for its lookup. Returns true when the
   * worker must be told about the token.
   */
  sawRead(tokenHash: string, sentAtMs: number): boolean {
    if (this.ineligible.has(tokenHash)) return false;
    if (this.accessorOf.has(tokenHash)) {
      this.extend(tokenHash, sentAtMs);
      return true;
    }
    if (!this.pendingFor(tokenHash)) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => { resolve = r; });
      this.pending.set(tokenHash, { sinceMs: this.now(), done, resolve });
    }
    return true;
  }

  /** The worker's lookup of a token (begun at `atMs`). */
  info(tokenHash: string, accessor: string, eligible: boolean, atMs: number, expiresAtMs?: number): void {
    const p = this.pending.get(tokenHash);
    this.pending.delete(tokenHash);
    if (this.ineligible.has(tokenHash)) {
      // Found ineligible, or revoked, before: a lookup that says otherwise began earlier (another
      // replica's, racing with a revocation) and proves nothing.
      p?.resolve();
      return;
    }
    if (!eligible) {
      this.forget(tokenHash);
      if (this.ineligible.size >= MAX_INELIGIBLE) this.ineligible.delete(this.ineligible.values().next().value as string);
      this.ineligible.add(tokenHash);
    } else {
      if (accessor) {
        this.byAccessor.set(accessor, tokenHash);
        this.accessorOf.set(tokenHash, accessor);
      } else this.accessorOf.set(tokenHash, '');
      if (expiresAtMs !== undefined) this.expires.set(tokenHash, expiresAtMs);
      this.extend(tokenHash, atMs);
    }
    p?.resolve();
  }

  /** Vault confirmed these tokens with checks begun at `atMs`. Unknown tokens stay unknown. */
  confirmed(tokenHashes: string[], atMs: number): void {
    for (const h of tokenHashes) if (this.accessorOf.has(h)) this.extend(h, atMs);
  }

  /** The token behind an accessor, when the worker told us. */
  tokenOfAccessor(accessor: string): string | undefined {
    return this.byAccessor.get(accessor);
  }

  /** A token revoked through Envoy (here or on another replica): no grant, and none ever again. */
  revokedForGood(tokenHash: string): void {
    this.forget(tokenHash);
    if (this.ineligible.size >= MAX_INELIGIBLE) this.ineligible.delete(this.ineligible.values().next().value as string);
    this.ineligible.add(tokenHash);
  }

  /** A token Vault revoked: no more grant. */
  forget(tokenHash: string): void {
    this.until.delete(tokenHash);
    this.expires.delete(tokenHash);
    this.pending.get(tokenHash)?.resolve();
    this.pending.delete(tokenHash);
    const acc = this.accessorOf.get(tokenHash);
    if (acc) this.byAccessor.delete(acc);
    this.accessorOf.delete(tokenHash);
  }

  /**
   * A revocation through Envoy may have revoked tokens we cannot name (children of a revoked
   * token, a revoke-prefix over token paths): every grant ends now, and only confirmations begun
   * after this moment bring them back.
   */
  expireAll(): void {
    this.revokedAtMs = this.now();
    this.until.clear();
  }

  get size(): number {
    return this.until.size;
  }

  private extend(tokenHash: string, atMs: number): void {
    if (atMs <= this.revokedAtMs) return;
    const next = atMs + this.windowMs;
    const u = this.until.get(tokenHash);
    if (u === undefined || next > u) this.until.set(tokenHash, next);
  }
}

const PENDING_MS = 5_000;
const MAX_INELIGIBLE = 100_000;
