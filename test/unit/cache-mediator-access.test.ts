// Which token may read which cached path has one owner, the static cache (ExtprocMessage in
// src/worker/protocol.ts): the worker's verdicts are applied by the mediator and come back to the
// worker as the deltas its registry follows — never changed by the worker on its own.
import { expect } from 'chai';
import { CacheMediator } from '../../src/cache-mediator.js';
import { hashToken } from '../../src/cache/token-hash.js';
import type { CacheConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import type { ExtprocMessage } from '../../src/worker/protocol.js';

const CONFIG = { staticSecrets: true, capabilityRefreshSeconds: 300, maxStaleSeconds: 0, maxBytes: 1 << 20 } as unknown as CacheConfig;
const A = 'hvs.reader-a';
const B = 'hvs.reader-b';

function setup() {
  const sent: ExtprocMessage[] = [];
  const caches = new CacheMediator(CONFIG, new Metrics(), (m) => sent.push(m), createLogger({ level: 'silent' }));
  const response = (v: string) => ({ status: 200, headers: [] as Array<[string, string]>, body: Buffer.from(JSON.stringify({ data: { data: { v } } })), storedAtMs: Date.now() });
  const read = (token: string, path: string) => {
    caches.staticRecorded({ type: 'static-record', key: { path, version: 0, header: '' }, token, tokenHash: hashToken(token), sentAtMs: Date.now(), response: response('x') });
    caches.tokenInfo({ type: 'token-info', tokenHash: hashToken(token), accessor: `acc-${token}`, eligible: true, atMs: Date.now() });
  };
  const serves = (token: string, path: string) => caches.static!.lookup({ path, version: 0, header: '' }, hashToken(token)) !== undefined;
  return { caches, sent, read, serves, response };
}

describe('static cache: the one owner of who reads what (the worker\'s verdicts come back as deltas)', () => {
  it('a capability verdict (static-revoke): the token is no longer served those paths, and the worker is told static-drop for exactly them', () => {
    const { caches, sent, read, serves } = setup();
    for (const p of ['secret/data/a', 'secret/data/b']) read(A, p);
    read(B, 'secret/data/a');
    sent.length = 0;
    caches.staticRevoked({ type: 'static-revoke', tokenHash: hashToken(A), paths: ['secret/data/a'] });
    expect(serves(A, 'secret/data/a')).to.equal(false);
    expect(serves(A, 'secret/data/b')).to.equal(true);
    expect(serves(B, 'secret/data/a')).to.equal(true);
    expect(sent).to.deep.equal([{ type: 'static-drop', tokenHash: hashToken(A), paths: ['secret/data/a'] }]);
  });

  it('a refetch Vault refused for a token (failedTokens): static-drop for that token on that path; the path stays for the others', () => {
    const { caches, sent, read, serves, response } = setup();
    read(A, 'secret/data/a');
    read(B, 'secret/data/a');
    sent.length = 0;
    caches.staticRefetched({ type: 'static-update', path: 'secret/data/a', response: response('new'), failedTokens: [hashToken(A)] });
    expect(serves(A, 'secret/data/a')).to.equal(false);
    expect(serves(B, 'secret/data/a')).to.equal(true);
    expect(sent).to.deep.equal([{ type: 'static-drop', tokenHash: hashToken(A), paths: ['secret/data/a'] }]);
  });

  it('a verdict that empties an entry evicts it: the worker is told the path is gone (static-forget) once', () => {
    const { caches, sent, read } = setup();
    read(A, 'secret/data/a');
    sent.length = 0;
    caches.staticRevoked({ type: 'static-revoke', tokenHash: hashToken(A), paths: ['secret/data/a'] });
    expect(caches.static!.size).to.equal(0);
    expect(sent.filter((m) => m.type === 'static-forget')).to.deep.equal([{ type: 'static-forget', path: 'secret/data/a' }]);
  });

  it('static-evict: the entry goes and the worker forgets it — also when the entry had gone already (the worker must not keep refreshing a path nobody holds)', () => {
    const { caches, sent, read } = setup();
    read(A, 'secret/data/a');
    sent.length = 0;
    caches.staticGone({ type: 'static-evict', path: 'secret/data/a', reason: 'gone' });
    expect(caches.static!.size).to.equal(0);
    expect(sent).to.deep.equal([{ type: 'static-forget', path: 'secret/data/a' }]);
    sent.length = 0;
    caches.staticGone({ type: 'static-evict', path: 'secret/data/never-cached', reason: 'no_reader' });
    expect(sent).to.deep.equal([{ type: 'static-forget', path: 'secret/data/never-cached' }]);
  });
});
