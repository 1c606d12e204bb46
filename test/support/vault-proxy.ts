import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_VAULT_BINARY } from './backend.js';
import { freePort, waitFor } from './ports.js';
import { Proc } from './process.js';
import type { VaultTarget } from './vault-setup.js';

/** A real `vault proxy` (the oracle: the build's own Vault Proxy 1.15.6) on a free loopback port. */
export interface RunningVaultProxy {
  url: string;
  dir: string;
  proc: Proc;
  stop(): Promise<void>;
}

/**
 * Starts `vault proxy -config=…` in front of `vault` with the given stanzas (auto_auth, api_proxy,
 * cache …) and one TCP listener (`listenerHcl` inside it). Ready when its listener accepts and
 * auto-auth wrote its sink, when `sinkFile` is given.
 */
export async function startVaultProxy(opts: {
  vault: VaultTarget;
  hcl: (paths: { dir: string }) => string;
  listenerHcl?: string;
  ready?: (url: string) => Promise<boolean>;
}): Promise<RunningVaultProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-vault-proxy-'));
  const port = await freePort();
  const config = join(dir, 'proxy.hcl');
  writeFileSync(config, `vault {
  address = "${opts.vault.serviceUrl ?? opts.vault.url}"
}
listener "tcp" {
  address = "127.0.0.1:${port}"
  tls_disable = true
  ${opts.listenerHcl ?? ''}
}
${opts.hcl({ dir })}
`);
  // VAULT_ADDR and the like would override the config's vault block (even when empty): unset.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_')));
  const proc = new Proc('vault-proxy', REAL_VAULT_BINARY, ['proxy', `-config=${config}`], env);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('vault proxy listening', async () => {
      const up = await fetch(`${url}/v1/sys/health`, { headers: { 'x-vault-request': 'true' } }).then(() => true, () => false);
      if (!up) return undefined;
      return !opts.ready || (await opts.ready(url)) ? true : undefined;
    }, 20_000, 100);
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.text}`);
  }
  return { url, dir, proc, stop: async () => { await proc.stop(); } };
}
