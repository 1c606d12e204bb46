// What the Vault is (namespaces or not), from sys/health as each server answers it.
import { expect } from 'chai';
import pino from 'pino';
import { Backoff } from '../../../../src/worker/backoff.js';
import type { WorkerMessage } from '../../../../src/worker/protocol.js';
import { VaultInfoProbe, describeVault } from '../../../../src/worker/static/vault-info.js';
import { FakeVault, until } from './fake-vault.js';

describe('worker: what the Vault is (sys/health)', () => {
  const cases: Array<[string, unknown, boolean | undefined]> = [
    // Vault 1.15.6 Community (no `enterprise` key before 1.16), as the real binary answers.
    ['Vault 1.15.6 Community', { initialized: true, sealed: false, standby: false, performance_standby: false, version: '1.15.6', cluster_name: 'vault-cluster-x' }, false],
    ['Vault 1.15 Enterprise', { performance_standby: false, version: '1.15.6+ent' }, true],
    ['Vault Enterprise HSM', { version: '1.14.2+ent.hsm' }, true],
    ['Vault Enterprise FIPS', { version: '1.15.1+ent.fips1402' }, true],
    ['Vault 1.4 Premium', { version: '1.4.0+prem' }, true],
    ['Vault 1.17 Community (enterprise: false)', { enterprise: false, version: '1.17.3' }, false],
    ['Vault 1.17 Enterprise (enterprise: true)', { enterprise: true, version: '1.17.3+ent' }, true],
    ['Vault 2.0 Community', { enterprise: false, version: '2.0.0' }, false],
    ['OpenBao 2.2 (no namespaces yet)', { initialized: true, version: '2.2.2' }, false],
    ['OpenBao 2.3', { initialized: true, version: '2.3.1' }, true],
    ['OpenBao 2.6 with a vendor suffix', { version: '2.6.2+debian' }, true],
    ['sealed Vault still says its version', { initialized: true, sealed: true, version: '1.15.6' }, false],
    ['no version', { initialized: true }, undefined],
    ['not JSON object', 'oops', undefined],
  ];
  for (const [name, body, namespaces] of cases) {
    it(`${name} → ${namespaces === undefined ? 'unknown' : namespaces ? 'namespaces' : 'no namespaces'}`, () => {
      const out = describeVault(body);
      if (namespaces === undefined) expect(out).to.equal(undefined);
      else expect(out).to.deep.equal({ namespaces, version: (body as { version: string }).version });
    });
  }

  it('asks sys/health without a token (sealed and standby nodes answer too), retries until Vault answers, sends vault-info once per answer', async () => {
    const vault = new FakeVault();
    vault.unreachable = true;
    const sent: WorkerMessage[] = [];
    const probe = new VaultInfoProbe(vault.client, pino({ level: 'silent' }), (m) => sent.push(m), new Backoff(20, 40));
    try {
      probe.ask();
      await until('three attempts', () => (vault.calls.length >= 3 ? true : undefined));
      expect(sent).to.deep.equal([]);
      vault.unreachable = false;
      await until('vault-info', () => sent[0]);
      expect(sent).to.deep.equal([{ type: 'vault-info', namespaces: false, version: '1.15.6' }]);
      const call = vault.calls[0]!;
      expect(call.token).to.equal(undefined);
      expect(call.retry).to.equal(false);
      const query = new URLSearchParams(call.path.split('?')[1]);
      expect(call.path.split('?')[0]).to.equal('sys/health');
      for (const [k, v] of [['standbyok', 'true'], ['perfstandbyok', 'true'], ['sealedcode', '200'], ['uninitcode', '200']] as const) expect(query.get(k), k).to.equal(v);
      await new Promise((r) => setTimeout(r, 100));
      expect(sent).to.have.length(1);
      vault.health = { enterprise: true, version: '1.17.0+ent' };
      probe.ask();
      await until('a second vault-info', () => sent[1]);
      expect(sent[1]).to.deep.equal({ type: 'vault-info', namespaces: true, version: '1.17.0+ent' });
    } finally {
      probe.stop();
    }
  });
});
