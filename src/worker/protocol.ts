import { Packr } from 'msgpackr';
import type { WorkerMetric } from '../telemetry/metrics.js';
import type { StaticKey } from '../cache/static-key.js';

/**
 * The typed messages between the worker and the ext_proc side, msgpackr-encoded. Together
 * with the cache store interface, this is the only coupling between the two roles.
 */
/** A stored Vault response as it crosses between the roles. */
export interface WireResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  storedAtMs: number;
}

export type WorkerMessage =
  /** A new auto-auth token (after login or re-login). Renewals do not change the token. */
  | { type: 'token'; token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }
  /**
   * The auto-auth token was renewed (renew-self answered at `obtainedAtMs`): the same token, a new
   * lease. A fleet owner shares it again, so the sealed L2 record's TTL follows the token's.
   */
  | { type: 'token-renewed'; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }
  /** The worker is done (exit_after_auth, or exit_on_err); the process exits with `code`. */
  | { type: 'exit'; code: number; reason: string }
  /** A cached secret was refetched: replace it; tokens Vault refused leave the entry. */
  | { type: 'static-update'; path: string; response: WireResponse; failedTokens: string[]; kvVersion?: number }
  /** No token may read the secret any more, or it is gone: evict. */
  | { type: 'static-evict'; path: string; reason: 'no_reader' | 'gone' }
  /** A cached token or lease stopped renewing (max TTL, refused, expired): evict it and what it owns. */
  | { type: 'lease-evict'; key: string }
  /**
   * A cached token or lease was renewed: `ttlSeconds` is its new lease. A fleet owner rewrites the
   * shared record's TTL (and renewal) so it lives as long as the lease (src/fleet/fleet-sync.ts).
   */
  | { type: 'lease-renewed'; key: string; ttlSeconds: number }
  /** A metric update (the worker has no registry of its own). */
  | { type: 'metric'; update: WorkerMetric }
  /** KV v2 versions deleted, destroyed or undeleted: drop those sub-entries. */
  | { type: 'static-drop-versions'; path: string; versions: number[] }
  /** A token lost read access on these paths (all its paths when it is revoked). */
  | { type: 'static-revoke'; tokenHash: string; paths: string[] }
  /**
   * What the mount holding a path is (sys/internal/ui/mounts), for Vaults whose answers do not say.
   * `kvVersion` is the KV mount's `options.version` (1 or 2) when Vault gave it.
   */
  | { type: 'mount-info'; mountPrefix: string; kind: 'kv' | 'other'; kvVersion?: 1 | 2 }
  /**
   * A token's first lookup-self after it proved access: whether it may ever be served from the
   * cache (`eligible`: no use limit, no bound CIDRs) and its accessor (revoke-accessor through Envoy).
   * An ineligible token is never confirmed and the worker never calls Vault with it again.
   * `expiresAtMs`: the lookup's expire_time (none for tokens without a TTL): cached access ends
   * there, also after a restart on the persisted store with Vault unreachable.
   */
  | { type: 'token-info'; tokenHash: string; accessor: string; eligible: boolean; atMs: number; expiresAtMs?: number }
  /** Vault confirmed these tokens (capabilities-self answered) at `atMs`: their cached access goes on. */
  | { type: 'tokens-confirmed'; tokenHashes: string[]; atMs: number }
  /** What the Vault is: namespaces exist only on Enterprise and OpenBao (sys/health at the worker's start). */
  | { type: 'vault-info'; namespaces: boolean; version: string }
  /** The capability round asked for with `recheck` has ended: every token was checked (or could not be). */
  | { type: 'recheck-done'; seq: number }
  /** The answer to a heartbeat `ping` (worker/supervisor.ts: no answer for 30 s is a hung worker). */
  | { type: 'pong'; seq: number }
  /**
   * A template's GET (src/worker/templates/): is it a static-cache read, and does the cache hold it
   * for the auto-auth token? Answered with `template-answer` (the same `id`).
   */
  | { type: 'template-lookup'; id: number; path: string; namespace?: string }
  /** The worker read Vault for a template after a miss: recorded as a client's read would be (the auto-auth token's proof). */
  | { type: 'template-record'; key: StaticKey; token: string; response: WireResponse; sentAtMs: number };

/**
 * What reaches the main thread's router (src/app.ts): every worker message but the heartbeat's
 * `pong`, which the supervisor that sent the `ping` consumes (worker/supervisor.ts).
 */
export type RoutedWorkerMessage = Exclude<WorkerMessage, { type: 'pong' }>;

/**
 * Which token may read which cached path has one owner, the static cache on this side
 * (src/cache/static-cache.ts). The worker's registry (src/worker/static/registry.ts) is a projection
 * that only follows the owner's deltas: `static-access` (a token proved a path), `static-drop` (it
 * lost paths), `token-revoked` (it lost all of them), `static-forget` (a path left the cache). The
 * worker's own verdicts (`static-revoke`, a refetch's `failedTokens`, `static-evict`) go to the
 * owner and come back as those deltas; the worker never changes the relation on its own.
 */
export type ExtprocMessage =
  /** A request carrying the auto-auth token got 403 from Vault: check the token now. */
  | { type: 'token-suspect' }
  /** A token proved read access on a cached path: the worker refreshes its capabilities and the secret. */
  | { type: 'static-access'; path: string; token: string }
  /** A cached token or lease to renew: `token` is the token itself, or the one that created the lease. */
  | {
    type: 'lease-track'; key: string; kind: 'token' | 'lease'; token: string; leaseId?: string; ttlSeconds: number;
    /** Renew soon (within a second), not on the schedule: a restarted worker does not know what is left of the lease. */
    renewNow?: boolean;
  }
  /** A cached token or lease left the cache: stop renewing it. */
  | { type: 'lease-untrack'; key: string }
  /** An entry left the cache (budget, eviction): the worker stops refreshing it. */
  | { type: 'static-forget'; path: string }
  /**
   * The token no longer reads these cached paths (a capability check, an expiry, a refetch Vault
   * refused): the static cache applied the worker's verdict, and the worker's registry follows.
   */
  | { type: 'static-drop'; tokenHash: string; paths: string[] }
  /** A KV-looking read's answer did not name its mount type: ask Vault what the mount is. */
  | { type: 'mount-lookup'; path: string }
  /**
   * A revocation through Envoy may have revoked tokens we cannot name (children, revoke-prefix over
   * token paths): check every token with cached access now, then answer `recheck-done` with `seq`.
   */
  | { type: 'recheck'; seq: number }
  /** A token Vault revoked through Envoy: forget it (no more calls to Vault with it). */
  | { type: 'token-revoked'; tokenHash: string }
  /** The supervisor's heartbeat: answer `pong` with the same seq. */
  | { type: 'ping'; seq: number }
  /** The answer to `template-lookup`: `key` when the read is one the static cache keeps, `hit` when it holds it for the auto-auth token. */
  | { type: 'template-answer'; id: number; key?: StaticKey; hit?: WireResponse }
  /**
   * Fleet mode (config.fleet): whether this replica holds the owner lease now. Only the owner's
   * worker logs in, renews the auto-auth token and holds the KV event subscription; a worker starts
   * as a non-owner and is told again after every restart (src/worker/fleet-auto-auth.ts).
   */
  | { type: 'fleet-role'; owner: boolean }
  /**
   * Fleet mode, non-owner: the owner's auto-auth token, read from L2. It becomes this worker's token
   * (templates, sinks, the maintainer's calls); the worker does not send it back as `token`.
   */
  | { type: 'shared-token'; token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }
  | { type: 'stop' };

const packr = new Packr({ structuredClone: false, useRecords: false });

/**
 * A copy of exactly the message's bytes: `pack` returns a view into msgpackr's shared buffer, and
 * posting a view would copy (and keep) the whole shared buffer on the other side.
 */
export function encodeMessage(msg: WorkerMessage | ExtprocMessage): Uint8Array {
  return new Uint8Array(packr.pack(msg));
}

export function decodeWorkerMessage(bytes: Uint8Array): WorkerMessage {
  return packr.unpack(bytes) as WorkerMessage;
}

export function decodeExtprocMessage(bytes: Uint8Array): ExtprocMessage {
  return packr.unpack(bytes) as ExtprocMessage;
}
