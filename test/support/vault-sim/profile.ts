// Which server the simulator answers as: Vault 1.15.6 (the default) or OpenBao 2.x (openbao.ts).
// Every place where the two differ reads the profile object, never the profile's name, so each
// difference is written down once, in the profile that has it, with its citation.
import type { Reply } from './envelope.js';
import type { HttpInput } from './pipeline.js';
import type { SimState } from './state.js';
import type { Route } from './types.js';

export type SimProfileName = 'vault' | 'openbao';

export interface SimProfile {
  readonly name: SimProfileName;
  /** The `version` of sys/health and sys/seal-status (`namespaces` is the sim's Enterprise-like option). */
  version(namespaces: boolean): string;
  /** Namespaces always exist (OpenBao 2.3+), whatever `VaultSimOptions.namespaces` says. */
  readonly namespacesAlways: boolean;
  /** GET/HEAD sys/health's body for a healthy, unsealed, active node. */
  health(state: SimState): Record<string, unknown>;
  /** GET sys/seal-status's body. */
  sealStatus(state: SimState): Record<string, unknown>;
  /** The response envelope carries `mount_type` (the simulator sends it as Vault 1.16+ does). */
  readonly envelopeMountType: boolean;
  /** `sys/events/subscribe/…` exists (the simulator's event stream; `events.setAvailable` can still turn it off). */
  readonly eventStream: boolean;
  /** sys/ route patterns (lease-routes.ts) this server does not have: they answer as any path without a route. */
  readonly removedSysRoutes: readonly string[];
  /** sys/ routes only this server has (OpenBao's sys/namespaces). */
  readonly extraSysRoutes: readonly Route[];
  /**
   * A reply for a request whose X-Vault-Namespace names no namespace (OpenBao: 404), checked after
   * the request is read and before the token; undefined to go on. `rel` is the path below /v1/.
   */
  namespaceCheck(state: SimState, namespacePath: string, rel: string): Reply | undefined;
  /** The built-in `default` policy, from Vault 1.15.6's text. */
  defaultPolicy(vaultText: string): string;
  /**
   * A reply given in genericWrapping, before help and the ServeMux (OpenBao refuses some sys/
   * paths when X-Vault-Namespace is set), or undefined to go on.
   */
  beforeApi(state: SimState, input: HttpInput): Reply | undefined;
  /** X-Vault-Inline-Auth-* headers authenticate the request (openbao.ts `inlineAuth`). */
  readonly inlineAuth: boolean;
  /** The `scan` operation: the SCAN method, GET `?scan=true`, the `scan` capability, KV v2 `metadata/` scans. */
  readonly scan: boolean;
  /** The CLI that KV v2's invalid-path warning names ("If using the Vault CLI, use 'vault kv get'…"). */
  readonly cli: { readonly name: string; readonly command: string };
}

const VAULT_VERSION = '1.15.6';

/** Vault 1.15.6 (official build), as the conformance suites check it against the real server. */
export const VAULT_PROFILE: SimProfile = {
  name: 'vault',
  // Vault CE reports the bare version; Enterprise (the namespaces option) appends `+ent`.
  version: (namespaces) => (namespaces ? `${VAULT_VERSION}+ent` : VAULT_VERSION),
  namespacesAlways: false,
  health: (state) => ({
    initialized: true,
    sealed: false,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(state.now() / 1000),
    version: state.version,
    cluster_name: state.clusterName,
    cluster_id: state.clusterId,
  }),
  sealStatus: (state) => ({
    type: 'shamir', initialized: true, sealed: false, t: 1, n: 1, progress: 0, nonce: '',
    version: state.version, build_date: '2024-02-28T17:07:34Z', migration: false,
    cluster_name: state.clusterName, cluster_id: state.clusterId, recovery_seal: false, storage_type: 'inmem',
  }),
  envelopeMountType: true,
  eventStream: true,
  removedSysRoutes: [],
  extraSysRoutes: [],
  namespaceCheck: () => undefined,
  defaultPolicy: (vaultText) => vaultText,
  beforeApi: () => undefined,
  inlineAuth: false,
  scan: false,
  cli: { name: 'Vault', command: 'vault' },
};
