// Vault HTTP API simulator for tests: `vault server -dev` behaviour, in memory, on a random port.
import { VaultSimServer, type VaultSim, type VaultSimOptions } from './server.js';
export type { SimProfileName as VaultSimProfile } from './profile.js';

export type {
  RecordedRequest, VaultSim, VaultSimEvents, VaultSimLease, VaultSimLeases, VaultSimOptions,
} from './server.js';

/** Starts a simulator (port 0 = a free port, host 127.0.0.1, root token `root`). */
export async function startVaultSim(opts: VaultSimOptions = {}): Promise<VaultSim> {
  const sim = new VaultSimServer(opts);
  await sim.start();
  return sim;
}
