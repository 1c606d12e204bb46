import { Packr } from 'msgpackr';
import type { WorkerMetric } from '../telemetry/metrics.js';

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
  /** The worker is done (exit_after_auth, or exit_on_err); the process exits with `code`. */
  | { type: 'exit'; code: number; reason: string }
  /** A cached secret was refetched: replace it; tokens Vault refused leave the entry. */
  | { type: 'static-update'; path: string; response: WireResponse; failedTokens: string[]; kvVersion?: number }
  /** No token may read the secret any more, or it is gone: evict. */
  | { type: 'static-evict'; path: string; reason: 'no_reader' | 'gone' }
  /** A cached token or lease stopped renewing (max TTL, refused, expired): evict it and what it owns. */
  | { type: 'lease-evict'; key: string }
  /** A metric update (the worker has no registry of its own). */
  | { type: 'metric'; update: WorkerMetric }
  /** KV v2 versions deleted, destroyed or undeleted: drop those sub-entries. */
  | { type: 'static-drop-versions'; path: string; versions: number[] }
  /** A token lost read access on these paths (all its paths when it is revoked). */
  | { type: 'static-revoke'; tokenHash: string; paths: string[] }
  /** What the mount holding a path is (sys/internal/ui/mounts), for Vaults whose answers do not say. */
  | { type: 'mount-info'; mountPrefix: string; kind: 'kv' | 'other' };

export type ExtprocMessage =
  /** A request carrying the auto-auth token got 403 from Vault: check the token now. */
  | { type: 'token-suspect' }
  /** A token proved read access on a cached path: the worker refreshes its capabilities and the secret. */
  | { type: 'static-access'; path: string; token: string }
  /** A cached token or lease to renew: `token` is the token itself, or the one that created the lease. */
  | { type: 'lease-track'; key: string; kind: 'token' | 'lease'; token: string; leaseId?: string; ttlSeconds: number }
  /** A cached token or lease left the cache: stop renewing it. */
  | { type: 'lease-untrack'; key: string }
  /** An entry left the cache (budget, eviction): the worker stops refreshing it. */
  | { type: 'static-forget'; path: string }
  /** A KV-looking read's answer did not name its mount type: ask Vault what the mount is. */
  | { type: 'mount-lookup'; path: string }
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
