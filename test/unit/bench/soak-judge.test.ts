import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import { firstLastMax, judgeLeaseHit, judgeRead, percentile, promValues, table, Timeline } from '../../../bench/soak/judge.js';

describe('soak checker (bench/soak/judge.ts)', () => {
  describe('Timeline.covers: a change explains a difference seen within its bound', () => {
    it('a change made directly in Vault covers reads sent up to its bound after it ended, not later', () => {
      const t = new Timeline();
      const c = t.begin('token:a', 3_000, 10_000);
      c.endMs = 10_100;
      expect(t.covers(['token:a'], 13_000, 13_050), '2.9 s after it ended').to.equal(true);
      expect(t.covers(['token:a'], 13_200, 13_250), '3.1 s after it ended').to.equal(false);
      expect(t.covers(['token:b'], 10_500, 10_600), 'another subject').to.equal(false);
    });
    it('a change through Envoy (bound 0) covers only a read sent before it ended', () => {
      const t = new Timeline();
      const c = t.begin('lease:x', 0, 5_000);
      c.endMs = 5_020;
      expect(t.covers(['lease:x'], 5_010, 5_100), 'sent while the revocation was in flight').to.equal(true);
      expect(t.covers(['lease:x'], 5_021, 5_100), 'sent after Vault answered the revocation').to.equal(false);
    });
    it('a change still in flight covers; one that starts after the check does not', () => {
      const t = new Timeline();
      t.begin('secret:s', 4_000, 7_000);
      expect(t.covers(['secret:s'], 60_000, 60_010)).to.equal(true);
      const u = new Timeline();
      u.begin('secret:s', 4_000, 9_000).endMs = 9_001;
      expect(u.covers(['secret:s'], 8_000, 8_500), 'the change began after Vault was asked').to.equal(false);
    });
    it('prune forgets only what can explain nothing after the given time', () => {
      const t = new Timeline();
      t.begin('a', 1_000, 0).endMs = 10;
      t.begin('b', 1_000, 0);
      t.begin('c', 1_000, 50_000).endMs = 50_010;
      t.prune(20_000);
      expect(t.size).to.equal(2);
      expect(t.covers(['a'], 500, 600)).to.equal(false);
    });
  });

  describe('judgeRead: a 2xx through Envoy against Vault asked directly right after', () => {
    const base = { envoyStatus: 200, envoyData: { v: 1 }, vaultStatus: 200, vaultData: { v: 1 }, accessChanged: false, secretChanged: false };
    it('a HIT Vault refuses (403) is wrong unless an access change is within the bound', () => {
      expect(judgeRead({ ...base, vaultStatus: 403 }, isDeepStrictEqual).verdict).to.equal('wrong');
      expect(judgeRead({ ...base, vaultStatus: 403, accessChanged: true }, isDeepStrictEqual).verdict).to.equal('within-access-bound');
      expect(judgeRead({ ...base, vaultStatus: 403, secretChanged: true }, isDeepStrictEqual).verdict, 'a write does not excuse a 403').to.equal('wrong');
    });
    it('a HIT of a secret Vault no longer has (404) is wrong unless a delete is within the stale bound', () => {
      expect(judgeRead({ ...base, vaultStatus: 404 }, isDeepStrictEqual).verdict).to.equal('wrong');
      expect(judgeRead({ ...base, vaultStatus: 404, secretChanged: true }, isDeepStrictEqual).verdict).to.equal('within-stale-bound');
    });
    it('other data than Vault\'s is wrong unless a write is within the stale bound', () => {
      expect(judgeRead({ ...base, vaultData: { v: 2 } }, isDeepStrictEqual).verdict).to.equal('wrong');
      expect(judgeRead({ ...base, vaultData: { v: 2 }, secretChanged: true }, isDeepStrictEqual).verdict).to.equal('within-stale-bound');
      expect(judgeRead(base, isDeepStrictEqual).verdict).to.equal('ok');
    });
    it('any other refusal by Vault is wrong; a refusal through Envoy never is', () => {
      expect(judgeRead({ ...base, vaultStatus: 400, accessChanged: true, secretChanged: true }, isDeepStrictEqual).verdict).to.equal('wrong');
      expect(judgeRead({ ...base, envoyStatus: 403, vaultStatus: 200 }, isDeepStrictEqual).verdict).to.equal('refused');
    });
  });

  describe('judgeLeaseHit', () => {
    it('a cached token or lease that Vault revoked is wrong unless the revocation overlaps the request', () => {
      expect(judgeLeaseHit({ vaultStatus: 200, alive: true, revokedInWindow: false }).verdict).to.equal('ok');
      expect(judgeLeaseHit({ vaultStatus: 200, alive: false, revokedInWindow: false }).verdict).to.equal('wrong');
      expect(judgeLeaseHit({ vaultStatus: 200, alive: false, revokedInWindow: true }).verdict).to.equal('within-access-bound');
    });
    it('a HIT for a request Vault refuses with the same token is wrong unless that token was being revoked', () => {
      expect(judgeLeaseHit({ vaultStatus: 403, alive: true, revokedInWindow: false }).verdict).to.equal('wrong');
      expect(judgeLeaseHit({ vaultStatus: 403, alive: true, revokedInWindow: true }).verdict).to.equal('within-access-bound');
    });
  });

  describe('report helpers', () => {
    it('percentile by nearest rank', () => {
      const values = Array.from({ length: 100 }, (_, i) => 100 - i);
      expect(percentile(values, 50)).to.equal(50);
      expect(percentile(values, 99)).to.equal(99);
      expect(percentile(values, 100)).to.equal(100);
      expect(percentile([7], 99)).to.equal(7);
      expect(percentile([], 50)).to.equal(undefined);
    });
    it('firstLastMax skips missing samples', () => {
      expect(firstLastMax([undefined, 3, 9, 4, undefined])).to.deep.equal({ first: 3, last: 4, max: 9 });
      expect(firstLastMax([])).to.deep.equal({});
    });
    it('promValues reads prom-client text, labelled series by their labels', () => {
      const m = promValues('# HELP x y\n# TYPE x gauge\nprocess_resident_memory_bytes 123456\nvault_extproc_cache_entries{cache="static"} 80\n'
        + 'vault_extproc_cache_entries{cache="lease"} 2\nnodejs_eventloop_lag_p99_seconds 0.0123\n');
      expect(m.get('process_resident_memory_bytes')).to.equal(123456);
      expect(m.get('vault_extproc_cache_entries{cache="static"}')).to.equal(80);
      expect(m.get('vault_extproc_cache_entries{cache="lease"}')).to.equal(2);
      expect(m.get('nodejs_eventloop_lag_p99_seconds')).to.equal(0.0123);
    });
    it('table: header, separator, one line per row', () => {
      expect(table(['a', 'b'], [[1, undefined], ['x', 2]])).to.equal('| a | b |\n|---|---|\n| 1 |  |\n| x | 2 |');
    });
  });
});
