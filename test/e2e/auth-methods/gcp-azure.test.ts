// vault-extproc (the built CLI) with `auto_auth { method "gcp" }` (gce, iam) and `method "azure"`
// behind real Envoy: `check` accepts the methods and reports their mistakes, `serve` logs in with
// each, and a request without a token reaches Vault carrying the auto-auth token. The metadata
// servers and cloud APIs are the loopback stand-in of test/support/cloud-metadata.ts, named to
// vault-extproc by GCE_METADATA_HOST, CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS and
// AZURE_POD_IDENTITY_AUTHORITY_HOST; a real Vault 1.15.6 reaches it as its plugins are configured
// (gcp: custom_endpoint; azure: HTTPS_PROXY and SSL_CERT_FILE for login.microsoftonline.com).
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoAuthHcl, expectAutoAuthThroughEnvoy, runCli, writeCheckConfig } from '../../support/auto-auth-e2e.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { realVaultEnv, setupAzure, setupGcp, withEnv } from '../../support/cloud-auth.js';
import { startCloudStandIn, type CloudStandIn } from '../../support/cloud-metadata.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { vaultApi } from '../../support/vault-setup.js';

const SECRET_PATH = '/v1/secret/data/app/config';

const autoAuth = (dir: string, method: string, config: string): string => autoAuthHcl(dir, method, config);

forEachBackend('e2e: auto-auth methods "gcp" and "azure" through real Envoy', function (kind) {
  this.timeout(60_000);
  let cloud: CloudStandIn;
  let backend: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => backend);

  before(async () => { cloud = await startCloudStandIn(); });
  // Copied into vault-extproc's environment by startStack; the simulator's plugins read the last three.
  withEnv(() => ({
    GCE_METADATA_HOST: cloud.host,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: cloud.iamCredentialsUrl,
    AZURE_POD_IDENTITY_AUTHORITY_HOST: cloud.url,
    ...realVaultEnv(cloud),
  }));
  before(async () => {
    backend = await startBackend(kind, { realEnv: realVaultEnv(cloud) });
    await vaultApi(backend, 'POST', 'secret/data/app/config', { data: { password: 'cloud-e2e-value' } });
    await setupGcp(backend, cloud);
    await setupAzure(backend, cloud);
  });
  after(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    await backend?.close();
    await cloud?.close();
  });

  const throughEnvoy = (stack: Stack, loginPath: string, meta: Record<string, string>): Promise<string> => expectAutoAuthThroughEnvoy(stack, backend, {
    loginPath, meta, path: SECRET_PATH, data: { password: 'cloud-e2e-value' },
  });

  it('gcp gce: serve logs in with the instance identity token; a request without a token reaches Vault with the auto-auth token', async () => {
    const stack = await startStack({ vault: backend, hcl: ({ dir }) => autoAuth(dir, 'gcp', '      type = "gce"\n      role = "gce"') });
    stacks.push(stack);
    await throughEnvoy(stack, 'auth/gcp/login', { role: 'gce', instance_name: 'web-1' });
  });

  it('gcp iam: serve logs in with a JWT signed by signJwt for the key file\'s account; a request without a token carries the auto-auth token', async () => {
    const keyFile = cloud.keyFile(cloud.account, 'e2e-key.json');
    const stack = await startStack({
      vault: backend,
      hcl: ({ dir }) => autoAuth(dir, 'gcp', `      type = "iam"\n      role = "iam"\n      credentials = "${keyFile}"\n      service_account = "${cloud.account.email}"`),
    });
    stacks.push(stack);
    await throughEnvoy(stack, 'auth/gcp/login', { role: 'iam', service_account_email: cloud.account.email });
    expect(stack.logs()).not.to.include(cloud.account.key.privateKey.split('\n')[1]!);
  });

  it('azure: serve logs in with the managed identity of the IMDS; a request without a token carries the auto-auth token', async () => {
    const stack = await startStack({
      vault: backend,
      hcl: ({ dir }) => autoAuth(dir, 'azure', '      role = "web"\n      resource = "https://management.azure.com/"'),
    });
    stacks.push(stack);
    await throughEnvoy(stack, 'auth/azure/login', { role: 'web', vm_name: 'vm-web-1', subscription_id: cloud.vm.subscriptionId });
  });

  it('check accepts gcp (gce, iam) and azure with nothing "not implemented", and reports their mistakes with locations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-cloud-check-'));
    const keyFile = cloud.keyFile(cloud.account, 'check-key.json');
    const config = (method: string, body: string): string =>
      writeCheckConfig(dir, `${method}-${Math.random().toString(36).slice(2)}.hcl`, backend.serviceUrl, autoAuth(dir, method, body));
    const good = [
      config('gcp', '      type = "gce"\n      role = "gce"'),
      config('gcp', `      type = "iam"\n      role = "iam"\n      credentials = "${keyFile}"\n      service_account = "${cloud.account.email}"\n      jwt_exp = 10\n      project = "proj-1"`),
      config('azure', '      role = "web"\n      resource = "https://management.azure.com/"\n      client_id = "c"\n      scope = "s"\n      authenticate_from_environment = false'),
    ];
    for (const file of good) {
      const r = await runCli(['check', '--config', file]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout + r.stderr).not.to.match(/not implemented/i);
      expect(r.stdout + r.stderr).not.to.include('unknown key');
    }
    const bad = await Promise.all([
      runCli(['check', '--config', config('gcp', '      type = "gke"\n      role = "x"')]),
      runCli(['check', '--config', config('gcp', '      type = "iam"')]),
      runCli(['check', '--config', config('gcp', `      type = "iam"\n      role = "iam"\n      credentials = "${join(dir, 'missing.json')}"`)]),
      runCli(['check', '--config', config('azure', '      role = "web"')]),
      runCli(['check', '--config', config('azure', '      role = "web"\n      resource = "r"\n      object_id = "o"\n      client_id = "c"')]),
    ]);
    const errorLines = bad.flatMap((r) => (r.stdout + r.stderr).split('\n').filter((l) => /^error:/i.test(l)));
    // Every problem says where it is in the file.
    for (const l of errorLines) expect(l).to.match(/ \(line \d+, column \d+\)$/);
    const errors = bad.map((r) => (r.stdout + r.stderr).split('\n').filter((l) => /^error:/i.test(l))
      .map((l) => l.replace(/^error: [^:]+: /i, '').replace(/ \(line \d+, column \d+\)$/, '')));
    expect(bad.map((r) => r.code)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(errors).to.deep.equal([
      ['auto_auth > method "gcp" > config > type: must be "gce" or "iam", got "gke"'],
      ['auto_auth > method "gcp" > config > role: is required'],
      [`auto_auth > method "gcp" > config > credentials: service-account key file ${join(dir, 'missing.json')}: no such file`],
      ['auto_auth > method "azure" > config > resource: is required (the audience of the token, the resource of the azure auth config)'],
      ['auto_auth > method "azure" > config > client_id: only one of \'object_id\' or \'client_id\' may be provided'],
    ]);
  });
});
