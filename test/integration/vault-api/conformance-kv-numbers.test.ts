// KV numbers as Vault keeps them: its HTTP layer decodes bodies with UseNumber and KV v1 stores the
// json.Number, so a number comes back exactly as it was written (1.0, 1e3, a 20-digit integer);
// KV v2's data goes through float64 (1.0 reads back 1). The same tests against the simulator and a
// real Vault, on the raw text.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { SimClient } from '../../support/vault-sim/client.js';

/** Written as text: what JSON.stringify would never produce (1.0, 1e3, 2E+2, 1.50, beyond 2^53). */
const WRITTEN = '{"a":1.0,"b":1e3,"c":12345678901234567890,"d":-0.5e-3,"e":[1.50,{"f":2E+2}],"s":"1.0","z":0}';

forEachBackend('Vault API: KV numbers kept as written (json.Number)', (kind) => {
  let backend: Backend;
  let vault: SimClient;

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    const mounted = await vault.call('POST', 'sys/mounts/kvnum1', { body: { type: 'kv', options: { version: '1' } } });
    expect(mounted.status).to.equal(204);
  });

  after(async function () {
    await backend?.close();
  });

  it('KV v1: a read returns every number with the text it was written with', async function () {
    expect((await vault.call('POST', 'kvnum1/app', { body: WRITTEN })).status).to.equal(204);
    const read = await vault.call('GET', 'kvnum1/app');
    expect(read.status).to.equal(200);
    expect(read.text).to.include(`"data":${WRITTEN}`);
  });

  it('KV v1: a ttl written as a number still sets the lease duration, and is returned as written', async function () {
    expect((await vault.call('POST', 'kvnum1/ttl', { body: '{"ttl":3600,"v":2.50}' })).status).to.equal(204);
    const read = await vault.call('GET', 'kvnum1/ttl');
    expect(read.json.lease_duration).to.equal(3600);
    expect(read.text).to.include('"data":{"ttl":3600,"v":2.50}');
  });

  it('KV v2 (unlike v1): its data goes through float64 — 1.0 reads back 1, 1e3 1000, a 20-digit integer rounded; a merge patch the same', async function () {
    expect((await vault.call('POST', 'secret/data/nums', { body: `{"data":${WRITTEN}}` })).status).to.equal(200);
    const floats = '{"a":1,"b":1000,"c":12345678901234567000,"d":-0.0005,"e":[1.5,{"f":200}],"s":"1.0","z":0}';
    expect((await vault.call('GET', 'secret/data/nums')).text).to.include(`"data":{"data":${floats},"metadata":`);
    const patched = await vault.call('PATCH', 'secret/data/nums', {
      body: '{"data":{"b":7.00,"g":{"h":1e-7}}}', headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    expect(patched.status).to.equal(200);
    expect((await vault.call('GET', 'secret/data/nums')).text)
      .to.include('"data":{"data":{"a":1,"b":7,"c":12345678901234567000,"d":-0.0005,"e":[1.5,{"f":200}],"g":{"h":1e-7},"s":"1.0","z":0},"metadata":');
  });

  it('a KV v1 mount upgraded to v2: the secret written with 1.0 reads back 1 (the upgrade goes through float64 too)', async function () {
    expect((await vault.call('POST', 'sys/mounts/kvnum-up', { body: { type: 'kv', options: { version: '1' } } })).status).to.equal(204);
    expect((await vault.call('POST', 'kvnum-up/x', { body: '{"a":1.0,"c":12345678901234567890}' })).status).to.equal(204);
    expect((await vault.call('GET', 'kvnum-up/x')).text).to.include('"data":{"a":1.0,"c":12345678901234567890}');
    expect((await vault.call('POST', 'sys/mounts/kvnum-up/tune', { body: { options: { version: '2' } } })).status).to.equal(200);
    const text = await waitFor('the upgrade', async () => {
      const read = await vault.call('GET', 'kvnum-up/data/x');
      return read.status === 200 ? read.text : undefined;
    }, 20_000, 100);
    expect(text).to.include('"data":{"data":{"a":1,"c":12345678901234567000},"metadata":');
  });
});
