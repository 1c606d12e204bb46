// Fleet replicas as processes (test/support/fleet-replica.ts), for fleet tests that must kill a
// replica or Redis the hard way and shorten the owner lease below its 5 s config minimum
// (VXP_FLEET_TUNING), as test/integration/fleet/fleet-owner.test.ts and fleet-alone.test.ts do: each replica
// runs the built app on its own config (AppRole auto_auth with a file sink, the static cache, the
// listener the api proxy needs, a `fleet` block naming the test's Redis), in its own directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from './backend.js';
import { REPO_ROOT } from './paths.js';
import { freePort, waitFor } from './ports.js';
import { Proc } from './process.js';
import type { RedisServer } from './redis.js';
import { appRoleAutoAuth, type AppRoleCreds } from './vault-setup.js';
import { metricValue, serviceEnv } from '../e2e/templates-helpers.js';

export interface ReplicaProc {
  id: string;
  dir: string;
  proc: Proc;
  adminUrl: string;
  extprocPort: number;
  /** The auto-auth file sink: the token this replica's worker holds. */
  sink: string;
}

export interface ReplicaProcOptions {
  /** A temp directory; the replica gets `<root>/<id>`. */
  root: string;
  id: string;
  vault: Backend;
  redis: RedisServer;
  creds: AppRoleCreds;
  /** The fleet key (base64 of 32 bytes), passed in the environment variable `keyVar`. */
  key: string;
  keyVar?: string;
  /** src/fleet/fleet.ts FleetTuning, as JSON in VXP_FLEET_TUNING. */
  tuning: Record<string, number>;
  /** More config blocks (a template …). */
  extraHcl?: string;
  /** More environment variables for the process. */
  env?: Record<string, string>;
}

/** Starts one replica process and waits until its app runs (the admin and ext_proc ports listen). */
export async function startReplicaProc(o: ReplicaProcOptions): Promise<ReplicaProc> {
  const keyVar = o.keyVar ?? 'VXP_TEST_FLEET_KEY';
  const dir = join(o.root, o.id);
  mkdirSync(dir);
  const [adminPort, extprocPort] = [await freePort(), await freePort()];
  const configPath = join(dir, 'config.hcl');
  writeFileSync(configPath, `
vault { address = "${o.vault.serviceUrl}" }
extproc {
  address = "127.0.0.1:${extprocPort}"
  admin_address = "127.0.0.1:${adminPort}"
  tls_disable = true
}
${appRoleAutoAuth(dir, o.creds, { sink: true })}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  static_secret_refresh_interval = "1h"
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
fleet {
  redis_url = "${o.redis.url}/0"
  encryption_key_env_var = "${keyVar}"
  replica_id = "${o.id}"
}
${o.extraHcl ?? ''}
`);
  const proc = new Proc(o.id, process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'support', 'fleet-replica.ts'), configPath], {
    ...serviceEnv(),
    [keyVar]: o.key,
    VXP_FLEET_TUNING: JSON.stringify(o.tuning),
    ...o.env,
  });
  const r: ReplicaProc = { id: o.id, dir, proc, adminUrl: `http://127.0.0.1:${adminPort}`, extprocPort, sink: join(dir, 'token') };
  try {
    await waitFor(`${o.id} started`, async () => {
      const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`${o.id} exited with ${code}:\n${proc.text}`);
      return proc.jsonLines.some((l) => l['msg'] === 'fleet-replica started') ? true : undefined;
    }, 30_000, 50);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return r;
}

/** A series on the replica's /metrics (0 when absent). */
export function replicaMetric(r: ReplicaProc, name: string, labels = ''): Promise<number> {
  return metricValue(r.adminUrl, name, labels);
}

/** Waits until exactly one of `among` reports vault_extproc_fleet_owner 1, and returns it. */
export async function theOwner<R extends ReplicaProc>(among: R[], timeoutMs: number): Promise<R> {
  return waitFor('exactly one owner', async () => {
    const flags = await Promise.all(among.map((r) => replicaMetric(r, 'vault_extproc_fleet_owner')));
    const owners = among.filter((_, i) => flags[i] === 1);
    return owners.length === 1 ? owners[0] : undefined;
  }, timeoutMs, 25);
}
