import { decodeEntry } from '../cache/entry.js';
import type { LeaseCache } from '../cache/lease-cache.js';
import type { CacheStore } from '../cache/store.js';
import type { TokenGrants } from '../cache/token-grants.js';
import type { ExtprocMessage } from '../worker/protocol.js';
import type { RestoredState } from './persistence.js';

export interface RestoreTargets {
  /** The static cache's memory store (written directly: what is loaded is not written back). */
  staticMemory?: CacheStore;
  grants?: TokenGrants;
  lease?: LeaseCache;
}

export interface RestoreResult {
  /** For the worker once it runs: renew the restored leases, look the restored tokens up again. */
  workerMessages: ExtprocMessage[];
  /** Restored tokens Vault has not confirmed since the restart, with the paths they proved. */
  awaiting: Map<string, { token: string; paths: Set<string> }>;
  counts: { secrets: number; tokens: number; leases: number };
}

/**
 * Puts a loaded store back into the caches:
 * - static entries as they were; a token's grant ends when it would have ended without the
 *   restart (Vault's last confirmation + the window, capped at its expiry) — a restart never extends
 *   it; the worker is asked to look each token up again (`static-access`), which only succeeds once
 *   Vault answers, and is asked again (`recheck`) each time Vault is seen again until it did;
 * - lease entries with a `lease-track` for what is left of them (`renewNow`: renewed as soon as
 *   Vault answers, not re-created; a lease whose recorded TTL has passed was not loaded).
 */
export function restoreInto(t: RestoreTargets, state: RestoredState, nowMs: number): RestoreResult {
  const workerMessages: ExtprocMessage[] = [];
  const awaiting = new Map<string, { token: string; paths: Set<string> }>();
  let secrets = 0;
  if (t.staticMemory && t.grants) {
    const tokens = new Map(state.tokens.map((tok) => [tok.tokenHash, tok]));
    for (const tok of state.tokens) t.grants.restore(tok.tokenHash, tok.accessor, tok.untilMs, tok.expiresAtMs);
    for (const { path, bytes } of state.statics) {
      t.staticMemory.set(path, bytes);
      secrets++;
      const entry = decodeEntry(path, bytes);
      for (const h of new Set([...entry.tokens, ...Object.values(entry.versionTokens).flat()])) {
        const tok = tokens.get(h);
        if (!tok) continue;
        const a = awaiting.get(h) ?? { token: tok.token, paths: new Set<string>() };
        a.paths.add(path);
        awaiting.set(h, a);
      }
    }
    for (const [, a] of awaiting) for (const path of a.paths) workerMessages.push({ type: 'static-access', path, token: a.token });
  }
  let leases = 0;
  if (t.lease) {
    for (const l of state.leases) {
      t.lease.record(l.entry);
      leases++;
      workerMessages.push({
        type: 'lease-track', key: l.entry.key, kind: l.entry.kind, token: l.renewToken,
        ttlSeconds: Math.max(1, Math.floor((l.expiresAtMs - nowMs) / 1000)), renewNow: true,
        ...(l.entry.leaseId ? { leaseId: l.entry.leaseId } : {}),
      });
    }
  }
  return { workerMessages, awaiting, counts: { secrets, tokens: state.tokens.length, leases } };
}

/** `static-access` again for every restored token Vault has not confirmed yet (Vault is back). */
export function recheckMessages(awaiting: Map<string, { token: string; paths: Set<string> }>): ExtprocMessage[] {
  const out: ExtprocMessage[] = [];
  for (const a of awaiting.values()) for (const path of a.paths) out.push({ type: 'static-access', path, token: a.token });
  return out;
}
