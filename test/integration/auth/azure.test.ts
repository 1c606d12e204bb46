// azure auto-auth as Vault Agent 1.15 does it, logging in to Vault's azure plugin. The worker's
// Instance Metadata Service (AZURE_POD_IDENTITY_AUTHORITY_HOST) and Microsoft Entra token endpoint
// (AZURE_AUTHORITY_HOST) are the loopback stand-in of test/support/cloud-metadata.ts. Vault's azure
// plugin can only discover its keys at https://login.microsoftonline.com/<tenant>/ (no setting
// points it elsewhere); the real Vault 1.15.6 is started with HTTPS_PROXY set to the stand-in's
// CONNECT proxy and SSL_CERT_FILE to its CA, so that host is answered on loopback and the real
// plugin verifies every token with the stand-in's keys.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureAuth } from '../../../src/worker/auth/azure.js';
import type { AuthMethod } from '../../../src/worker/auth/index.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { AZURE_RESOURCE, azureMethod, realVaultEnv, setupAzure, withEnv } from '../../support/cloud-auth.js';
import { jwtParts, signJwt, startCloudStandIn, type CloudStandIn } from '../../support/cloud-metadata.js';
import { sleep, waitFor } from '../../support/ports.js';
import { vaultApi } from '../../support/vault-setup.js';

forEachBackend('auth: azure auto-auth (managed identity) logging in to the azure plugin', function (kind) {
  this.timeout(40_000);
  let cloud: CloudStandIn;
  let v: Backend;
  const runs: AutoAuthRun[] = [];

  before(async () => { cloud = await startCloudStandIn(); });
  after(async () => { await cloud?.close(); });
  // The worker's IMDS; the simulator's discovery goes the way the real Vault's does (proxy, CA).
  withEnv(() => ({ AZURE_POD_IDENTITY_AUTHORITY_HOST: cloud.url, HTTPS_PROXY: cloud.proxyUrl, SSL_CERT_FILE: cloud.caFile }));

  beforeEach(async () => {
    v = await startBackend(kind, { realEnv: realVaultEnv(cloud) });
    cloud.calls.length = 0;
  });
  afterEach(async () => {
    for (const r of runs.splice(0)) await r.stop();
    await v.close();
  });

  /** Runs AutoAuth with `method` until the test ends; the tokens it obtains. */
  function go(method: AuthMethod): string[] {
    const r = runAutoAuth({ address: v.serviceUrl }, method);
    runs.push(r);
    return r.tokens;
  }

  it("logs in with the IMDS managed-identity token and the VM's metadata; the token has the role policy and the VM's names", async () => {
    await setupAzure(v, cloud);
    const tokens = go(new AzureAuth(azureMethod()));
    const token = await waitFor('an azure login', () => tokens[0]);
    const self = await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/azure/login');
    expect(self.json.data.policies).to.deep.equal(['azure-app', 'default']);
    expect(self.json.data.meta).to.deep.equal({
      app_id: cloud.vm.clientId, resource_group_name: 'rg-web', role: 'web', subscription_id: cloud.vm.subscriptionId, vm_name: 'vm-web-1',
    });
    // What Agent asks the IMDS: metadata, then a token for `resource`, api-version 2018-02-01, Metadata: true.
    const instance = cloud.callsTo('/metadata/instance');
    const identity = cloud.callsTo('/metadata/identity/oauth2/token');
    expect(instance).to.have.length(1);
    expect(instance[0]!.query).to.deep.equal({ 'api-version': '2018-02-01' });
    expect(identity[0]!.query).to.deep.equal({ 'api-version': '2018-02-01', resource: AZURE_RESOURCE });
    expect([instance[0]!.headers['metadata'], identity[0]!.headers['metadata']]).to.deep.equal(['true', 'true']);
  });

  it('sends client_id (or object_id) to the IMDS to pick a user-assigned identity; an unknown one gets no token', async () => {
    await setupAzure(v, cloud);
    const tokens = go(new AzureAuth(azureMethod({ clientId: cloud.vm.clientId })));
    await waitFor('a login with client_id', () => tokens[0]);
    expect(cloud.callsTo('/metadata/identity/oauth2/token')[0]!.query['client_id']).to.equal(cloud.vm.clientId);
    const vault = new VaultClient({ address: v.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      const err = await new AzureAuth(azureMethod({ objectId: 'not-this-vm' })).login(vault).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.equal('azure login: the managed identity token: http://' + cloud.host + '/metadata/identity/oauth2/token answered 400: invalid_request (Identity not found)');
    } finally {
      vault.close();
    }
  });

  it('logs in again after its token is revoked', async () => {
    await setupAzure(v, cloud, { ttl: '3s' });
    const tokens = go(new AzureAuth(azureMethod()));
    const first = await waitFor('a token', () => tokens[0]);
    await v.revokeToken(first);
    const second = await waitFor('a new token after the revocation', () => tokens[1], 10_000);
    expect(second === first, 'the second login gave a new token').to.equal(false);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
    expect(cloud.callsTo('/metadata/identity/oauth2/token').length).to.be.at.least(2);
  });

  it('a managed identity the role does not bind gets no token (Vault: service principal not authorized)', async () => {
    await setupAzure(v, cloud, { principals: ['someone-else'] });
    const vault = new VaultClient({ address: v.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      const err = await new AzureAuth(azureMethod()).login(vault).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.include(`service principal not authorized: ${cloud.vm.principalId}`);
    } finally {
      vault.close();
    }
  });

  it("Vault verifies the token with the tenant's published keys: one signed by another key is refused", async () => {
    await setupAzure(v, cloud);
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ ...cloud.entra, privateKey: cloud.google.privateKey }, {
      aud: AZURE_RESOURCE, iss: `https://sts.windows.net/${cloud.vm.tenantId}/`, oid: cloud.vm.principalId, nbf: now, exp: now + 600,
    });
    const res = await fetch(`${v.url}/v1/auth/azure/login`, { method: 'POST', body: JSON.stringify({ role: 'web', jwt: forged }) });
    expect(res.status).to.equal(500);
    expect(await res.json()).to.deep.equal({ errors: ['failed to verify signature: failed to verify id token signature'] });
    // The discovery went to login.microsoftonline.com (through the proxy), the keys to its jwks_uri.
    expect(cloud.callsTo(`/${cloud.vm.tenantId}/.well-known/openid-configuration`).length).to.be.at.least(1);
  });

  describe('authenticate_from_environment (the Azure SDK default credential chain)', () => {
    let dir: string;
    const envKeys = ['AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE'];
    const saved = new Map<string, string | undefined>();
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'vxp-azure-'));
      for (const k of envKeys) saved.set(k, process.env[k]);
      process.env['AZURE_AUTHORITY_HOST'] = cloud.url;
      process.env['AZURE_TENANT_ID'] = cloud.vm.tenantId;
      process.env['AZURE_CLIENT_ID'] = cloud.vm.clientId;
    });
    afterEach(() => {
      for (const [k, val] of saved) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    });

    it('a client secret (AZURE_CLIENT_SECRET): the token for `scope` comes from Microsoft Entra, and Vault accepts it', async () => {
      process.env['AZURE_CLIENT_SECRET'] = 'standin-secret';
      await setupAzure(v, cloud);
      const tokens = go(new AzureAuth(azureMethod({ authenticateFromEnvironment: true })));
      const token = await waitFor('a login', () => tokens[0]);
      expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.meta.vm_name).to.equal('vm-web-1');
      const asked = cloud.callsTo(`/${cloud.vm.tenantId}/oauth2/v2.0/token`);
      expect(asked).to.have.length(1);
      const form = new URLSearchParams(asked[0]!.body);
      expect(Object.fromEntries([...form].filter(([k]) => k !== 'client_secret'))).to.deep.equal({
        client_id: cloud.vm.clientId, grant_type: 'client_credentials', scope: `${AZURE_RESOURCE}/.default`,
      });
      expect(cloud.callsTo('/metadata/identity/oauth2/token')).to.deep.equal([]);
    });

    it('workload identity (AZURE_FEDERATED_TOKEN_FILE): the file is the client assertion, read at each login', async () => {
      const file = join(dir, 'azure-identity-token');
      const assertion = signJwt(cloud.google, { sub: 'system:serviceaccount:web:app', aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 600 });
      writeFileSync(file, assertion);
      process.env['AZURE_FEDERATED_TOKEN_FILE'] = file;
      await setupAzure(v, cloud);
      const method = new AzureAuth(azureMethod({ authenticateFromEnvironment: true }));
      expect(method.credentialFiles()).to.deep.equal([file]);
      const tokens = go(method);
      await waitFor('a login', () => tokens[0]);
      const form = new URLSearchParams(cloud.callsTo(`/${cloud.vm.tenantId}/oauth2/v2.0/token`)[0]!.body);
      expect(form.get('client_assertion')).to.equal(assertion);
      expect(form.get('client_assertion_type')).to.equal('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      expect(jwtParts(form.get('client_assertion')!).claims['aud']).to.equal('api://AzureADTokenExchange');
    });

    it('no client secret or federated token: the managed identity of the IMDS, for AZURE_CLIENT_ID', async () => {
      await setupAzure(v, cloud);
      const tokens = go(new AzureAuth(azureMethod({ authenticateFromEnvironment: true })));
      await waitFor('a login', () => tokens[0]);
      await sleep(10);
      expect(cloud.callsTo('/metadata/identity/oauth2/token')[0]!.query).to.deep.equal({
        'api-version': '2018-02-01', client_id: cloud.vm.clientId, resource: 'https://management.azure.com/',
      });
    });
  });
});
