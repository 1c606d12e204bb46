// All simulator state, in memory: tokens, leases, policies, mounts (each with its backend's data),
// wraps, and the event bus.
import { backendFactory } from './backends.js';
import { ConsistencySim } from './consistency.js';
import { EventBus } from './events.js';
import { IdentityStore } from './identity.js';
import { newUuid } from './ids.js';
import { LeaseStore } from './leases.js';
import { MountTable } from './mount-table.js';
import { PolicyStore } from './policy.js';
import { VAULT_PROFILE, type SimProfile } from './profile.js';
import { TokenStore } from './tokens.js';
import { WrapStore } from './wrapping.js';

export type ErrorStyle = 'legacy' | 'modern';

export interface StateConfig {
  readonly rootToken: string;
  readonly errorStyle: ErrorStyle;
  /** Wall clock in ms; injectable for tests of the simulator itself. */
  readonly now?: () => number;
  /** Also mount the database secrets engine at `database/`. */
  readonly mountDatabase?: boolean;
  /** An Enterprise-like Vault with namespaces (default false: Vault CE, which has none). */
  readonly namespaces?: boolean;
  /** Vault Enterprise's X-Vault-Index and 412s for a lagging node (consistency.ts; default false). */
  readonly consistency?: boolean;
  /** Which server to answer as (profile.ts; default Vault 1.15.6). */
  readonly profile?: SimProfile;
}

export class SimState {
  readonly now: () => number;
  readonly rootToken: string;
  readonly errorStyle: ErrorStyle;
  /** Which server the simulator answers as; every difference between them is read from here. */
  readonly profile: SimProfile;
  /** Namespaces exist: `X-Vault-Namespace` is honoured (the Vault profile's version then says `+ent`). */
  readonly namespaces: boolean;
  /** sys/health's and sys/seal-status's `version`. */
  readonly version: string;
  readonly clusterName = `vault-cluster-${newUuid().slice(0, 8)}`;
  readonly clusterId = newUuid();
  readonly tokens: TokenStore;
  /** Secret leases; a token's leases go when the token does. */
  readonly leases: LeaseStore;
  readonly policies: PolicyStore;
  readonly mounts: MountTable;
  readonly wraps: WrapStore;
  readonly events: EventBus;
  /** Entities made at login, TOTP methods and secrets, login MFA enforcements and held logins. */
  readonly identity: IdentityStore;
  /** The consistency profile, when on. */
  readonly consistency: ConsistencySim | undefined;

  /** Starts like `vault server -dev`: root token, token auth, KV v2 at secret/. */
  constructor(config: StateConfig) {
    this.now = config.now ?? Date.now;
    this.rootToken = config.rootToken;
    this.errorStyle = config.errorStyle;
    this.profile = config.profile ?? VAULT_PROFILE;
    this.namespaces = this.profile.namespacesAlways || (config.namespaces ?? false);
    this.version = this.profile.version(config.namespaces ?? false);
    this.policies = new PolicyStore(this.profile.defaultPolicy, this.profile.scan);
    this.consistency = config.consistency ? new ConsistencySim(this.clusterId) : undefined;
    this.tokens = new TokenStore(this.now);
    this.leases = new LeaseStore(this.now, this.tokens);
    this.wraps = new WrapStore(this.tokens, this.now);
    this.events = new EventBus(this.now, this.tokens, this.policies);
    this.identity = new IdentityStore(this.now);
    this.mounts = new MountTable(backendFactory(this.now, this.profile));
    this.mounts.mount({ path: 'cubbyhole/', table: 'mounts', type: 'cubbyhole', description: 'per-token private secret storage' }, true);
    this.mounts.mount({ path: 'identity/', table: 'mounts', type: 'identity', description: 'identity store' }, true);
    this.mounts.mount({ path: 'sys/', table: 'mounts', type: 'system', description: 'system endpoints used for control, policy and debugging' }, true);
    this.mounts.mount({ path: 'secret/', table: 'mounts', type: 'kv', description: 'key/value secret storage', options: { version: '2' } }, true);
    if (config.mountDatabase) {
      this.mounts.mount({ path: 'database/', table: 'mounts', type: 'database', description: 'database secrets engine' }, true);
    }
    this.mounts.mount({ path: 'token/', table: 'auth', type: 'token', description: 'token based credentials' }, true);
    // `-dev-root-token-id` makes Vault create the root token through auth/token/create (an
    // orphan with a lease entry that never expires), not as the init root token auth/token/root.
    this.tokens.create({
      id: config.rootToken,
      policies: ['root'],
      parent: '',
      path: 'auth/token/create',
      displayName: 'token',
      ttlSeconds: 0,
      renewable: false,
    });
  }
}
