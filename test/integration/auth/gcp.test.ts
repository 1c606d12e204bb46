// gcp auto-auth (type "gce" and "iam") as Vault Agent 1.15 does it, logging in to Vault's gcp
// plugin. Nothing leaves the machine: the worker's GCE metadata server (GCE_METADATA_HOST) and IAM
// Credentials signJwt (CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS), and what the plugin reads
// (custom_endpoint api, iam, compute; its own OAuth token via GOOGLE_APPLICATION_CREDENTIALS whose
// token_uri points here) are the loopback stand-in of test/support/cloud-metadata.ts. A real
// Vault 1.15.6 verifies each JWT with the keys the stand-in publishes.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GcpAuth } from '../../../src/worker/auth/gcp.js';
import type { AuthMethod } from '../../../src/worker/auth/index.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { gcpMethod, realVaultEnv, setupGcp, withEnv } from '../../support/cloud-auth.js';
import { jwtParts, startCloudStandIn, type CloudStandIn } from '../../support/cloud-metadata.js';
import { sleep, waitFor } from '../../support/ports.js';
import { vaultApi } from '../../support/vault-setup.js';

forEachBackend('auth: gcp auto-auth (gce, iam) logging in to the gcp plugin', function (kind) {
  this.timeout(40_000);
  let cloud: CloudStandIn;
  let v: Backend;
  let dir: string;
  const runs: AutoAuthRun[] = [];

  before(async () => { cloud = await startCloudStandIn(); });
  after(async () => { await cloud?.close(); });
  withEnv(() => ({
    GCE_METADATA_HOST: cloud.host,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: cloud.iamCredentialsUrl,
    // The simulator's gcp plugin finds its own credentials here, as the real one does in realEnv.
    GOOGLE_APPLICATION_CREDENTIALS: cloud.keyFile(cloud.vaultAccount, 'vault-adc.json'),
  }));

  beforeEach(async () => {
    v = await startBackend(kind, { realEnv: realVaultEnv(cloud) });
    dir = mkdtempSync(join(tmpdir(), 'vxp-gcp-'));
    cloud.calls.length = 0;
  });
  afterEach(async () => {
    for (const r of runs.splice(0)) await r.stop();
    await v.close();
  });

  /** Runs AutoAuth with `method` until the test ends; the tokens it obtains. */
  function go(method: AuthMethod, extra: Parameters<typeof runAutoAuth>[2] = {}): string[] {
    const r = runAutoAuth({ address: v.serviceUrl }, method, extra);
    runs.push(r);
    return r.tokens;
  }

  it('gce: logs in with the instance identity token of the metadata server; the token has the role policy and names the instance', async () => {
    await setupGcp(v, cloud);
    const tokens = go(new GcpAuth(gcpMethod({})));
    const token = await waitFor('a gce login', () => tokens[0]);
    const self = await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/gcp/login');
    expect(self.json.data.policies).to.deep.equal(['default', 'gcp-app']);
    expect(self.json.data.meta).to.include({ role: 'gce', instance_name: 'web-1', project_id: 'proj-1', zone: 'europe-west1-b', service_account_email: cloud.account.email });
    // What Agent asks the metadata server: the default account's identity, for <vault>/vault/<role>, full format.
    const asked = cloud.callsTo('/computeMetadata/v1/instance/service-accounts/default/identity');
    expect(asked).to.have.length(1);
    expect(asked[0]!.headers['metadata-flavor']).to.equal('Google');
    expect(asked[0]!.query).to.deep.equal({ audience: `${v.serviceUrl}/vault/gce`, format: 'full' });
  });

  it('iam: signJwt signs {aud: http://vault/<role>, sub, exp in jwt_exp minutes} as the service account of the key file; Vault accepts it', async () => {
    await setupGcp(v, cloud);
    const keyFile = cloud.keyFile(cloud.account, 'app-key.json');
    const method = gcpMethod({ authType: 'iam', role: 'iam', credentials: keyFile, serviceAccount: cloud.account.email, jwtExpMinutes: 10 });
    const tokens = go(new GcpAuth(method));
    const token = await waitFor('an iam login', () => tokens[0]);
    const self = await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.meta).to.deep.equal({ project_id: 'proj-1', role: 'iam', service_account_email: cloud.account.email, service_account_id: cloud.account.uniqueId });
    const sign = cloud.calls.filter((c) => c.path.endsWith(':signJwt'));
    expect(sign.map((c) => c.path)).to.deep.equal([`/v1/projects/-/serviceAccounts/${cloud.account.email}:signJwt`]);
    const payload = JSON.parse((JSON.parse(sign[0]!.body) as { payload: string }).payload) as Record<string, unknown>;
    expect(Object.keys(payload)).to.deep.equal(['aud', 'exp', 'sub']);
    expect(payload).to.include({ aud: 'http://vault/iam', sub: cloud.account.email });
    expect(Math.abs(Number(payload['exp']) - (Date.now() / 1000 + 600))).to.be.below(30);
    // The OAuth token it was called with came from the key: the JWT-bearer grant, signed by the key's id.
    const grant = new URLSearchParams(cloud.callsTo('/token').find((c) => c.body.includes('assertion='))!.body);
    expect(jwtParts(grant.get('assertion')!).header['kid']).to.equal(cloud.account.key.kid);
    expect(jwtParts(grant.get('assertion')!).claims['iss']).to.equal(cloud.account.email);
    expect(method.credentials && new GcpAuth(method).credentialFiles()).to.deep.equal([keyFile]);
  });

  it('iam: the key given inline (the JSON itself, as Agent takes it) works too', async () => {
    await setupGcp(v, cloud);
    const json = readFileSync(cloud.keyFile(cloud.account, 'inline.json'), 'utf8');
    const tokens = go(new GcpAuth(gcpMethod({ authType: 'iam', role: 'iam', credentials: json, serviceAccount: cloud.account.email })));
    const token = await waitFor('an iam login', () => tokens[0]);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.meta.role).to.equal('iam');
  });

  it('iam without credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS); service_account = "" takes its client_email', async () => {
    // GOOGLE_APPLICATION_CREDENTIALS is the vault account's key in this suite.
    await setupGcp(v, cloud, { iamAccounts: [cloud.account.email, cloud.vaultAccount.email] });
    const tokens = go(new GcpAuth(gcpMethod({ authType: 'iam', role: 'iam', serviceAccount: '' })));
    const token = await waitFor('an iam login', () => tokens[0]);
    const self = await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.meta.service_account_email).to.equal(cloud.vaultAccount.email);
    expect(cloud.calls.filter((c) => c.path.endsWith(':signJwt')).map((c) => c.path)).to.include(`/v1/projects/-/serviceAccounts/${cloud.vaultAccount.email}:signJwt`);
  });

  it('iam with enable_reauth_on_new_credentials: a key file replaced on disk leads to a new login as its account', async () => {
    await setupGcp(v, cloud, { iamAccounts: [cloud.account.email, cloud.vaultAccount.email] });
    const keyFile = cloud.keyFile(cloud.account, 'rotating.json');
    const tokens = go(new GcpAuth(gcpMethod({ authType: 'iam', role: 'iam', credentials: keyFile, serviceAccount: '' })), { reauthOnNewCredentials: true, credentialPollMs: 100 });
    const first = await waitFor('a login with the first key', () => tokens[0]);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, first)).json.data.meta.service_account_email).to.equal(cloud.account.email);
    renameSync(cloud.keyFile(cloud.vaultAccount, 'rotating.next'), keyFile);
    const second = await waitFor('a login with the new key', () => tokens[1], 10_000);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, second)).json.data.meta.service_account_email).to.equal(cloud.vaultAccount.email);
  });

  it('gce: logs in again after its token is revoked', async () => {
    await setupGcp(v, cloud, { ttl: '3s' });
    const tokens = go(new GcpAuth(gcpMethod({})));
    const first = await waitFor('a token', () => tokens[0]);
    await v.revokeToken(first);
    const second = await waitFor('a new token after the revocation', () => tokens[1], 10_000);
    expect(second === first, 'the second login gave a new token').to.equal(false);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
    expect(cloud.callsTo('/computeMetadata/v1/instance/service-accounts/default/identity').length).to.be.at.least(2);
  });

  it('iam: logs in again after its token is revoked, with a newly signed JWT', async () => {
    await setupGcp(v, cloud, { ttl: '3s' });
    const tokens = go(new GcpAuth(gcpMethod({ authType: 'iam', role: 'iam', credentials: cloud.keyFile(cloud.account, 'k.json'), serviceAccount: cloud.account.email })));
    const first = await waitFor('a token', () => tokens[0]);
    await v.revokeToken(first);
    const second = await waitFor('a new token after the revocation', () => tokens[1], 10_000);
    expect(second === first, 'the second login gave a new token').to.equal(false);
    expect((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
    expect(cloud.calls.filter((c) => c.path.endsWith(':signJwt')).length).to.be.at.least(2);
  });

  it("iam: a jwt_exp beyond the role's max_jwt_exp (15 min) is refused by Vault, which names its limit", async () => {
    await setupGcp(v, cloud);
    const method = gcpMethod({ authType: 'iam', role: 'iam', credentials: cloud.keyFile(cloud.account, 'k.json'), serviceAccount: cloud.account.email, jwtExpMinutes: 30 });
    const vault = new VaultClient({ address: v.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      let refused: Error | undefined;
      await new GcpAuth(method).login(vault).catch((err: Error) => { refused = err; });
      expect(refused?.message).to.include('role requires that service account JWTs expire within 900 seconds');
    } finally {
      vault.close();
    }
  });

  it('iam: a service account the role does not bind gets no token', async () => {
    await setupGcp(v, cloud, { iamAccounts: [cloud.vaultAccount.email] });
    const tokens = go(new GcpAuth(gcpMethod({ authType: 'iam', role: 'iam', credentials: cloud.keyFile(cloud.account, 'k.json'), serviceAccount: cloud.account.email })));
    await waitFor('two refused logins', () => (cloud.calls.filter((c) => c.path.endsWith(':signJwt')).length >= 2 ? true : undefined), 10_000);
    expect(tokens).to.deep.equal([]);
  });

  it('gce: the metadata server refusing the identity token stops the login before Vault is called', async () => {
    await setupGcp(v, cloud);
    cloud.fail('/computeMetadata/v1/instance/service-accounts/default/identity', 503);
    try {
      const vault = new VaultClient({ address: v.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
      v.clearRequests();
      const err = await new GcpAuth(gcpMethod({})).login(vault).then(() => undefined, (e: Error) => e);
      vault.close();
      expect(err?.message).to.equal('gcp gce login: the metadata server answered 503 for the identity token of service account "default"');
      await sleep(50);
      expect(v.requestsTo('/v1/auth/gcp/login')).to.deep.equal([]);
    } finally {
      cloud.fail('/computeMetadata/v1/instance/service-accounts/default/identity');
    }
  });
});
