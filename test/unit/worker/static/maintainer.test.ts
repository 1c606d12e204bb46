// A poll or a reconnect refetches every cached secret: Vault sees at most 16 of those at once,
// and every secret is still refetched.
import { expect } from 'chai';
import pino from 'pino';
import type { CacheConfig, VaultConfig } from '../../../../src/config/types.js';
import { StaticCacheMaintainer } from '../../../../src/worker/static/maintainer.js';
import type { WorkerMessage } from '../../../../src/worker/protocol.js';
import type { VaultClient } from '../../../../src/vault/client.js';

describe('static cache maintainer: refetching everything', () => {
  it('keeps at most 16 refetches in flight and refetches every path once', async () => {
    let inFlight = 0;
    let most = 0;
    const reads: string[] = [];
    const body = Buffer.from(JSON.stringify({ data: { data: { v: 1 }, metadata: { version: 1 } } }));
    const vault = {
      raw: async (req: { path: string }) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        reads.push(req.path);
        return { status: 200, headers: new Map([['date', new Date().toUTCString()]]), body };
      },
      // The first lookup of the token: no expiry, no use limit.
      request: async () => ({ status: 200, body: { data: { accessor: 'acc', num_uses: 0, expire_time: null, ttl: 0 } } }),
    } as unknown as VaultClient;
    const sent: WorkerMessage[] = [];
    const m = new StaticCacheMaintainer({
      cache: { capabilityRefreshSeconds: 3600, staticRefreshSeconds: 3600 } as CacheConfig,
      vaultConfig: { address: 'http://127.0.0.1:1' } as VaultConfig,
      vault, log: pino({ level: 'silent' }), send: (msg) => sent.push(msg), autoAuthToken: () => undefined, onInvalidToken: () => undefined,
    });
    const paths = Array.from({ length: 200 }, (_, i) => `secret/data/p${i}`);
    for (const path of paths) m.access(path, 'hvs.reader');
    // The token's lookup answers, then its paths are in the registry.
    while (!sent.some((s) => s.type === 'token-info')) await new Promise((r) => setTimeout(r, 2));
    (m as unknown as { refetchAll(why: string): void }).refetchAll('test');
    const deadline = Date.now() + 10_000;
    while (reads.length < paths.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    m.stop();
    expect(most).to.equal(16);
    expect([...reads].sort()).to.deep.equal([...paths].sort());
    expect(sent.filter((s) => s.type === 'static-update')).to.have.length(200);
  });
});

describe('static cache maintainer: KV events for secrets this worker does not hold (fleet mode)', () => {
  const frame = (path: string): string => JSON.stringify({
    data: { event_type: 'kv-v2/data-write', plugin_info: { mount_path: 'secret/' }, event: { metadata: { modified: 'true', data_path: path } } },
  });

  for (const announceUnheld of [true, false]) {
    it(`announceUnheld ${announceUnheld}: ${announceUnheld ? 'the owner announces it (static-evict), since another replica may hold it' : 'ignored, as a single process does'}`, () => {
      const sent: WorkerMessage[] = [];
      const m = new StaticCacheMaintainer({
        cache: { capabilityRefreshSeconds: 3600, staticRefreshSeconds: 3600 } as CacheConfig,
        vaultConfig: { address: 'http://127.0.0.1:1' } as VaultConfig,
        vault: {} as VaultClient, log: pino({ level: 'silent' }), send: (msg) => sent.push(msg), autoAuthToken: () => undefined, onInvalidToken: () => undefined,
        subscribeAtStart: false, announceUnheld,
      });
      (m as unknown as { onFrame(frame: string): void }).onFrame(frame('secret/data/held-elsewhere'));
      m.stop();
      expect(sent.filter((s) => s.type !== 'metric')).to.deep.equal(announceUnheld ? [{ type: 'static-evict', path: 'secret/data/held-elsewhere', reason: 'gone' }] : []);
    });
  }
});
