// vault-extproc (the built CLI) with `auto_auth { method "aws" }` behind real Envoy: `check`
// accepts the method, `serve` logs in with it (iam: static keys in the config; ec2: the metadata
// stand-in named by AWS_EC2_METADATA_SERVICE_ENDPOINT), and a request without a token reaches
// Vault carrying the auto-auth token.
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoAuthHcl, expectAutoAuthThroughEnvoy, runCli, writeCheckConfig } from '../../support/auto-auth-e2e.js';
import { startAwsWorld, TEST_ACCOUNT, type AwsWorld } from '../../support/aws-stand-ins.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { vaultApi, writePolicy } from '../../support/vault-setup.js';

const SECRET_PATH = '/v1/secret/data/app/config';

/**
 * Starts a stack whose vault-extproc process has `env` on top of this one's: the stack copies
 * process.env when it spawns, so the variables are set around that call only.
 */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

forEachBackend('e2e: auto-auth method "aws" through real Envoy', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let world: AwsWorld;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => backend);

  before(async () => {
    backend = await startBackend(kind);
    await writePolicy(backend, 'app', 'path "secret/data/app/*" { capabilities = ["read"] }');
    await vaultApi(backend, 'POST', 'secret/data/app/config', { data: { password: 'aws-e2e-value' } });
    world = await startAwsWorld(backend, { policies: ['app'] });
  });

  after(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    await world?.close();
    await backend?.close();
  });

  const autoAuth = (dir: string, config: string): string => autoAuthHcl(dir, 'aws', config);

  const iamConfig = (): string => `      type = "iam"
      role = "app"
      access_key = "${world.app.accessKeyId}"
      secret_key = "${world.app.secretAccessKey}"`;
  const ec2Config = '      type = "ec2"\n      role = "ec2"';

  const throughEnvoy = (stack: Stack, authType: string): Promise<string> => expectAutoAuthThroughEnvoy(stack, backend, {
    loginPath: 'auth/aws/login', meta: { auth_type: authType, account_id: TEST_ACCOUNT }, path: SECRET_PATH, data: { password: 'aws-e2e-value' },
  });

  it('iam: serve logs in with a signed GetCallerIdentity; a request without a token reaches Vault with the auto-auth token', async () => {
    // The metadata stand-in for iam too: a chain that fell through to the instance role would ask it,
    // never the link-local default address.
    const stack = await withEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: world.imds.url }, () =>
      startStack({ vault: backend, hcl: ({ dir }) => autoAuth(dir, iamConfig()) }));
    stacks.push(stack);
    await throughEnvoy(stack, 'iam');
    expect(world.api.callsOf('GetCallerIdentity').filter((c) => c.accessKeyId === world.app.accessKeyId && c.verified)).to.not.be.empty;
    // The secret key is never logged (nor the token: throughEnvoy).
    expect(stack.logs()).not.to.include(world.app.secretAccessKey);
  });

  it('ec2: serve logs in with the identity document from AWS_EC2_METADATA_SERVICE_ENDPOINT; a request without a token reaches Vault with the auto-auth token', async () => {
    world.imds.calls.length = 0;
    const stack = await withEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: world.imds.url }, () =>
      startStack({ vault: backend, hcl: ({ dir }) => autoAuth(dir, ec2Config) }));
    stacks.push(stack);
    await throughEnvoy(stack, 'ec2');
    expect(world.imds.calls.filter((c) => c.path === '/latest/dynamic/instance-identity/signature' && c.withToken)).to.not.be.empty;
  });

  it('check: both types are valid, nothing about them is "not implemented"; a bad type and a missing role are errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-aws-check-'));
    const file = (name: string, config: string): string => writeCheckConfig(dir, name, backend.serviceUrl, autoAuth(dir, config));
    for (const config of [iamConfig(), ec2Config, '      type = "iam"\n      role = "app"']) {
      const check = await runCli(['check', '--config', file('ok.hcl', config)]);
      expect(check.code, check.stdout).to.equal(0);
      expect(check.stdout).to.match(/valid \(\d+ warning\(s\)\)\n$/);
      expect(check.stdout).not.to.match(/not implemented|method "aws"/);
    }
    const check = await runCli(['check', '--config', file('bad.hcl', '      type = "ecs"')]);
    expect(check.code).to.equal(1);
    expect(check.stdout).to.include('auto_auth > method "aws" > config > type: must be "iam" or "ec2", got "ecs"');
    expect(check.stdout).to.include('auto_auth > method "aws" > config > role: is required');
  });
});
