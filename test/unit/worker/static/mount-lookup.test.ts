// mount-info says a KV mount's version (options.version) in both the listing and the per-path lookup.
import { expect } from 'chai';
import pino from 'pino';
import type { VaultClient } from '../../../../src/vault/client.js';
import { listMounts, lookupMount } from '../../../../src/worker/static/mount-lookup.js';

const log = pino({ level: 'silent' });

function vaultAnswering(data: unknown): VaultClient {
  return { send: async () => ({ status: 200, body: { data } }) } as unknown as VaultClient;
}

describe('worker: mount-info with the KV version', () => {
  it('listMounts: v2 from options.version "2", v1 from "1" or no options; other engines have none', async () => {
    const out = await listMounts(vaultAnswering({
      secret: {
        'secret/': { type: 'kv', options: { version: '2' } },
        'kv1/': { type: 'kv', options: { version: '1' } },
        'old/': { type: 'kv', options: null },
        'db/': { type: 'database', options: null },
        'odd/': { type: 'kv', options: { version: '3' } },
      },
    }), 'hvs.auto', log);
    expect(out).to.deep.equal([
      { type: 'mount-info', mountPrefix: 'secret/', kind: 'kv', kvVersion: 2 },
      { type: 'mount-info', mountPrefix: 'kv1/', kind: 'kv', kvVersion: 1 },
      { type: 'mount-info', mountPrefix: 'old/', kind: 'kv', kvVersion: 1 },
      { type: 'mount-info', mountPrefix: 'db/', kind: 'other' },
      { type: 'mount-info', mountPrefix: 'odd/', kind: 'kv' },
    ]);
  });

  it('lookupMount: the mount of a path with its KV version', async () => {
    expect(await lookupMount(vaultAnswering({ type: 'kv', path: 'secret/', options: { version: '2' } }), 'secret/data/app', 'hvs.auto', log))
      .to.deep.equal([{ type: 'mount-info', mountPrefix: 'secret/', kind: 'kv', kvVersion: 2 }]);
    expect(await lookupMount(vaultAnswering({ type: 'kv', path: 'kv/', options: {} }), 'kv/app', 'hvs.auto', log))
      .to.deep.equal([{ type: 'mount-info', mountPrefix: 'kv/', kind: 'kv', kvVersion: 1 }]);
  });
});
