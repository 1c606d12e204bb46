import { expect } from 'chai';
import { Backoff } from '../../../src/worker/backoff.js';
import { renewalDelayMs } from '../../../src/worker/auto-auth.js';

describe('worker: backoff and renewal schedule', () => {
  it('doubles from the minimum to the cap, each delay 75–100 % of its step', () => {
    const low = new Backoff(1000, 300_000, () => 0);
    const high = new Backoff(1000, 300_000, () => 1);
    const lows = Array.from({ length: 12 }, () => low.next());
    const highs = Array.from({ length: 12 }, () => high.next());
    expect(highs).to.deep.equal([1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000]);
    expect(lows).to.deep.equal(highs.map((h) => h * 0.75));
  });

  it('starts over after reset()', () => {
    const b = new Backoff(1000, 300_000, () => 1);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).to.equal(1000);
  });

  it("renews after ⅔ of the lease plus a third of the grace (Vault's lifetime watcher)", () => {
    expect(renewalDelayMs(60_000, 9_000)).to.equal(43_000);
  });

  it('gives up renewing when the lease would end inside the grace period (max TTL reached)', () => {
    expect(renewalDelayMs(5_000, 9_000)).to.equal(undefined);
    expect(renewalDelayMs(30_000, 9_000)).to.equal(undefined); // 30 − 23 ≤ 9
  });
});
