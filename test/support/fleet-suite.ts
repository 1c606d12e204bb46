// The hooks every fleet e2e suite (test/e2e/fleet*.test.ts) registers: a Vault backend, a
// redis-server, the suite's policies, an AppRole role for the auto-auth, and a fleet of replicas
// (test/support/fleet-harness.ts), each behind its own Envoy. On a failed test every process's
// output is printed; after the suite everything is stopped.
import { startBackend, type Backend, type BackendKind } from './backend.js';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';
import { startRedis, type RedisServer } from './redis.js';
import { appRoleAutoAuth, setupAppRole, writePolicy, type AppRoleCreds } from './vault-setup.js';

export interface FleetSuiteOptions {
  /** Policies written before the role is made, by name. */
  policies: Record<string, string>;
  /** The auto-auth AppRole role: its name, policies and token TTLs. */
  role: { name: string; policies: string[]; tokenTtl: string; tokenMaxTtl: string };
  /** The other blocks every replica has (cache, api_proxy …). */
  hcl: string;
  /** More keys of the fleet block (owner_lease_ttl …). */
  fleetHcl?: string;
}

/** What the suite's tests use; set by the `before` hook this registers. */
export interface FleetSuite {
  backend: Backend;
  redis: RedisServer;
  fleet: FleetHarness;
  /** The AppRole credentials the replicas log in with (needles for a leak check). */
  creds: AppRoleCreds;
}

/** Registers the suite's before/afterEach/after hooks (call it inside the `describe`). */
export function useFleetSuite(kind: BackendKind, opts: FleetSuiteOptions): FleetSuite {
  const suite = {} as Partial<FleetSuite>;

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    process.stderr.write(`\n${suite.fleet?.logs() ?? ''}\n${suite.redis?.logs() ?? ''}\n${suite.backend?.logs() ?? ''}\n`);
  });

  before(async function () {
    this.timeout(90_000);
    const backend = (suite.backend = await startBackend(kind));
    const redis = (suite.redis = await startRedis());
    for (const [name, hcl] of Object.entries(opts.policies)) await writePolicy(backend, name, hcl);
    const { name, policies, tokenTtl, tokenMaxTtl } = opts.role;
    const creds = (suite.creds = await setupAppRole(backend, { role: name, policies, tokenTtl, tokenMaxTtl }));
    suite.fleet = await startFleetHarness({
      backend,
      redis,
      autoAuth: (dir) => appRoleAutoAuth(dir, creds, { sink: true }),
      hcl: opts.hcl,
      ...(opts.fleetHcl !== undefined ? { fleetHcl: opts.fleetHcl } : {}),
    });
  });

  after(async () => {
    await suite.fleet?.stop();
    await suite.redis?.stop();
    await suite.backend?.close();
  });

  return suite as FleetSuite;
}
