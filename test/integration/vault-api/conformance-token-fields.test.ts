// The token_* fields every auth method takes on its roles, users or config (Vault's
// sdk/helper/tokenutil: ParseTokenFields, each plugin's pre-1.4 names, PopulateTokenData), written
// and read back through each method's own path; the simulator's token-util.ts against a real
// Vault 1.15.6.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';
import { SimClient } from '../../support/vault-sim/client.js';

interface Method {
  type: string;
  /** Where the token fields are written and read (a role, a user, the ldap config). */
  path: string;
  /** What else that write needs to be valid. */
  body: () => Record<string, unknown>;
  /** The old names this method still takes (its tokenutil.UpgradeValue calls). */
  oldNames: string[];
  /** The status of a good write: 204, or 200 where the plugin always answers with a response (gcp). */
  written: number;
  /** The plugin refuses fields it does not know (gcp: 422 "unknown fields"), so only its own old names are sent. */
  strict?: true;
}

forEachBackend('Vault API: token_* fields of the auth methods (tokenutil)', function (kind) {
  this.timeout(30_000);
  let backend: Backend;
  let vault: SimClient;
  let pki: TestPki;

  const methods: Method[] = [
    { type: 'approle', path: 'role/r', body: () => ({}), oldNames: ['policies', 'period'], written: 204 },
    { type: 'userpass', path: 'users/u', body: () => ({ password: 'pw' }), oldNames: ['policies', 'ttl', 'max_ttl', 'bound_cidrs'], written: 204 },
    { type: 'kubernetes', path: 'role/r', body: () => ({ bound_service_account_names: 'sa', bound_service_account_namespaces: 'ns' }), oldNames: ['policies', 'bound_cidrs', 'num_uses', 'ttl', 'max_ttl', 'period'], written: 204 },
    { type: 'jwt', path: 'role/r', body: () => ({ role_type: 'jwt', user_claim: 'sub', bound_subject: 's' }), oldNames: ['policies', 'bound_cidrs', 'num_uses', 'ttl', 'max_ttl', 'period'], written: 204 },
    { type: 'cert', path: 'certs/r', body: () => ({ certificate: readFileSync(pki.caCert, 'utf8') }), oldNames: ['policies', 'ttl', 'max_ttl', 'period', 'bound_cidrs'], written: 204 },
    { type: 'ldap', path: 'config', body: () => ({ url: 'ldap://127.0.0.1:1' }), oldNames: [], written: 204 },
    { type: 'aws', path: 'role/r', body: () => ({ auth_type: 'iam', bound_iam_principal_arn: 'arn:aws:iam::123456789012:user/u', resolve_aws_unique_ids: false }), oldNames: ['policies', 'ttl', 'max_ttl', 'period'], written: 204 },
    { type: 'gcp', path: 'role/r', body: () => ({ type: 'iam', bound_service_accounts: 'a@p.iam.gserviceaccount.com' }), oldNames: ['policies', 'ttl', 'max_ttl', 'period'], written: 200, strict: true },
    { type: 'azure', path: 'role/r', body: () => ({ bound_service_principal_ids: 'sp' }), oldNames: ['policies', 'num_uses', 'ttl', 'max_ttl', 'period'], written: 204 },
  ];

  before(async function () {
    this.timeout(60_000);
    pki = makeTestPki();
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    for (const m of methods) {
      const res = await vault.call('POST', `sys/auth/${m.type}`, { body: { type: m.type } });
      expect(res.status, res.text).to.equal(204);
    }
  });
  after(async () => {
    await backend?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  const write = (m: Method, fields: Record<string, unknown>) => vault.call('POST', `auth/${m.type}/${m.path}`, { body: { ...m.body(), ...fields } });
  async function tokenData(m: Method): Promise<Record<string, unknown>> {
    const res = await vault.call('GET', `auth/${m.type}/${m.path}`);
    expect(res.status, res.text).to.equal(200);
    return Object.fromEntries(Object.entries(res.json.data as Record<string, unknown>).filter(([k]) => k.startsWith('token_')));
  }

  for (const type of ['approle', 'userpass', 'kubernetes', 'jwt', 'cert', 'ldap', 'aws', 'gcp', 'azure']) {
    describe(type, () => {
      const m = (): Method => methods.find((x) => x.type === type)!;

      it('reads back every token_* field as written', async () => {
        const res = await write(m(), {
          token_policies: 'b, a', token_ttl: '1h', token_max_ttl: '2h', token_explicit_max_ttl: '3h', token_period: 0,
          token_num_uses: 3, token_no_default_policy: true, token_type: 'service', token_bound_cidrs: '10.0.0.0/8',
        });
        expect(res.status, res.text).to.equal(m().written);
        // The policies as given (trimmed, in their order); the old `policies` name is sorted (below).
        expect(await tokenData(m())).to.deep.equal({
          token_bound_cidrs: ['10.0.0.0/8'], token_explicit_max_ttl: 10800, token_max_ttl: 7200, token_no_default_policy: true,
          token_num_uses: 3, token_period: 0, token_policies: ['b', 'a'], token_ttl: 3600, token_type: 'service',
        });
      });

      it("refuses what ParseTokenFields refuses, with Vault's words", async () => {
        const refusals: Array<[Record<string, unknown>, string]> = [
          [{ token_type: 'default-service' }, 'invalid \'token_type\' value "default-service"'],
          [{ token_num_uses: -1 }, "'token_num_uses' cannot be negative"],
          [{ token_type: 'batch', token_period: '1h', token_num_uses: 0 }, "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"],
          [{ token_type: 'batch', token_period: 0, token_num_uses: 2 }, "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count"],
          [{ token_ttl: '2h', token_max_ttl: '1h', token_type: 'service', token_num_uses: 0 }, "'token_ttl' cannot be greater than 'token_max_ttl'"],
        ];
        const answers = [];
        for (const [fields] of refusals) {
          const res = await write(m(), fields);
          answers.push([res.status, res.json?.errors]);
        }
        expect(answers).to.deep.equal(refusals.map(([, error]) => [400, [error]]).map((a, i) =>
          // approle alone takes default-service as service, with a warning (path_role.go's backwards compat).
          (i === 0 && type === 'approle' ? [200, undefined] : a)));
        if (type === 'approle') {
          const res = await write(m(), { token_type: 'default-batch', token_period: 0, token_num_uses: 0 });
          expect([res.status, res.json.warnings]).to.deep.equal([200, ['default-batch has no useful meaning; adjusting to batch']]);
          expect((await tokenData(m()))['token_type']).to.equal('batch');
        }
      });

      it('takes its own pre-1.4 names only when the token_ name is absent, and no others', async () => {
        const reset = await write(m(), {
          token_policies: '', token_ttl: 0, token_max_ttl: 0, token_period: 0, token_num_uses: 0, token_bound_cidrs: '', token_type: 'default',
        });
        expect(reset.status, reset.text).to.equal(m().written);
        const old = { policies: 'old,Older', ttl: 60, max_ttl: 120, period: 30, num_uses: 4, bound_cidrs: '192.168.0.0/16' };
        const res = await write(m(), m().strict ? Object.fromEntries(Object.entries(old).filter(([k]) => m().oldNames.includes(k))) : old);
        expect(res.status, res.text).to.equal(m().written);
        const taken = await tokenData(m());
        const upgraded = m().oldNames;
        expect({
          policies: taken['token_policies'], ttl: taken['token_ttl'], max_ttl: taken['token_max_ttl'], period: taken['token_period'],
          num_uses: taken['token_num_uses'], bound_cidrs: taken['token_bound_cidrs'],
        }).to.deep.equal({
          policies: upgraded.includes('policies') ? ['old', 'older'] : [], ttl: upgraded.includes('ttl') ? 60 : 0, max_ttl: upgraded.includes('max_ttl') ? 120 : 0,
          period: upgraded.includes('period') ? 30 : 0, num_uses: upgraded.includes('num_uses') ? 4 : 0,
          bound_cidrs: upgraded.includes('bound_cidrs') ? ['192.168.0.0/16'] : [],
        });
        const both = await write(m(), { token_ttl: 10, ttl: 20 });
        expect(both.status, both.text).to.equal(m().written);
        expect((await tokenData(m()))['token_ttl']).to.equal(10);
      });
    });
  }
});
