// Finding F4: after an offline start, a restored grant is served only to a read that waited for a
// sys/health probe begun after it arrived and finding Vault unreachable; the first cluster id decides once.
import { expect } from 'chai';
import { ClusterGate, GatedTokenGrants } from '../../../src/persist/cluster-gate.js';

const H = 'restored-token-hash';

function gated(health: (timeoutMs: number) => Promise<string | undefined>, decide: (id: string) => void = () => undefined): { grants: GatedTokenGrants; gate: ClusterGate } {
  const grants = new GatedTokenGrants(60_000);
  grants.restore(H, 'accessor', Date.now() + 60_000);
  const gate = new ClusterGate(health, decide);
  grants.gate = gate;
  return { grants, gate };
}

/** What request-phase.ts does for a cached read: servable, else wait once for pendingFor and step again. */
async function read(grants: GatedTokenGrants): Promise<'fresh' | 'stale' | undefined> {
  const first = grants.servable(H, Date.now());
  if (first) return first;
  const wait = grants.pendingFor(H);
  if (!wait) return undefined;
  await Promise.race([wait, new Promise((r) => setTimeout(r, 700))]);
  return grants.servable(H, Date.now());
}

describe('persist: the cluster gate after an offline start (F4)', () => {
  it('Vault unreachable: a read waits for its own probe and is served; no read is served without one', async () => {
    let probes = 0;
    const { grants } = gated(async () => { probes++; return undefined; });
    expect(grants.servable(H, Date.now()), 'served before any probe').to.equal(undefined);
    expect(await read(grants)).to.equal('fresh');
    expect(probes).to.equal(1);
    await new Promise((r) => setImmediate(r));
    expect(grants.servable(H, Date.now()), 'served on an older probe').to.equal(undefined);
    expect(await read(grants)).to.equal('fresh');
    expect(probes).to.equal(2);
  });

  it('another Vault answers: the decision is made once, before the waiting read is stepped again, and nothing is served from the gate', async () => {
    const decided: string[] = [];
    const { grants } = gated(async () => 'cluster-b', (id) => {
      decided.push(id);
      grants.expireAll(); // what the wiring does on a mismatch (CacheMediator.forgetRestored)
    });
    expect(await read(grants)).to.equal(undefined);
    expect(await read(grants)).to.equal(undefined);
    expect(decided).to.deep.equal(['cluster-b']);
  });

  it('a read arriving while a probe is under way waits for the next probe, not the one begun before it', async () => {
    const answers: Array<(id: string | undefined) => void> = [];
    const holder: { grants?: GatedTokenGrants } = {};
    const { grants, gate } = gated(() => new Promise((r) => answers.push(r)), () => holder.grants?.expireAll());
    holder.grants = grants;
    const first = read(grants);
    await Promise.resolve();
    expect(answers.length).to.equal(1);
    const second = read(grants);
    // The first probe (begun before the second read) finds Vault unreachable: the first read is served.
    answers[0]!(undefined);
    expect(await first).to.equal('fresh');
    await new Promise((r) => setTimeout(r, 10));
    expect(answers.length, 'the second read has a probe of its own').to.equal(2);
    // Vault B answers that one: the second read is not served.
    answers[1]!('cluster-b');
    expect(await second, 'served on the probe begun before the read arrived').to.equal(undefined);
    expect(gate.closed).to.equal(false);
  });
});
