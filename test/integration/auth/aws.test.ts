// The aws auto-auth method against Vault's aws auth plugin (a real Vault 1.15.6, and the
// simulator), with loopback stand-ins for STS/EC2 (Vault's sts_endpoint and endpoint) and for the
// instance metadata service (vault-extproc's AWS_EC2_METADATA_SERVICE_ENDPOINT).
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsMethod } from '../../../src/config/types.js';
import { AwsAuth } from '../../../src/worker/auth/aws.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { newAccessKey, startAwsWorld, TEST_ACCOUNT, type AwsWorld } from '../../support/aws-stand-ins.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { vaultApi } from '../../support/vault-setup.js';

function method(extra: Partial<AwsMethod> & Pick<AwsMethod, 'authType' | 'role'>): AwsMethod {
  return {
    type: 'aws', mountPath: 'auth/aws', minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false,
    region: 'us-east-1', credentialPollIntervalSeconds: 60, ...extra,
  };
}

forEachBackend('auth: aws auto-auth (iam and ec2) against Vault', function (kind) {
  this.timeout(40_000);
  let backend: Backend;
  let world: AwsWorld;
  let vault: VaultClient;
  const runs: AutoAuthRun[] = [];

  async function setUp(token: { ttl?: string; maxTtl?: string } = {}, client: Record<string, unknown> = {}): Promise<void> {
    backend = await startBackend(kind);
    world = await startAwsWorld(backend, token, client);
    vault = new VaultClient({ address: backend.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && backend) process.stderr.write(backend.logs().slice(-4000));
    for (const r of runs.splice(0)) await r.stop();
    vault?.close();
    await world?.close();
    await backend?.close();
  });

  function autoAuth(auth: AwsAuth): AutoAuthRun {
    const r = runAutoAuth({ address: backend.serviceUrl }, auth);
    runs.push(r);
    return r;
  }

  const iamStatic = (): AwsMethod => method({ authType: 'iam', role: 'app', accessKey: world.app.accessKeyId, secretKey: world.app.secretAccessKey });
  // Every AwsAuth here has the metadata stand-in as its metadata service, so that no test (nor a
  // broken chain) ever asks the link-local default address.
  const ec2Env = (): Record<string, string> => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: world.imds.url });

  it('iam: logs in with a signed sts:GetCallerIdentity; Vault asks STS (the stand-in checks the signature) and the token works', async () => {
    await setUp();
    const seen = autoAuth(new AwsAuth(iamStatic(), { env: ec2Env() }));
    const token = await waitFor('a token', () => seen.tokens[0]);
    const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/aws/login');
    expect(self.json.data.meta).to.include({ account_id: TEST_ACCOUNT, auth_type: 'iam' });
    // Vault forwarded the request as signed: for sts.amazonaws.com (region us-east-1), to its
    // sts_endpoint. (A real Vault sends it twice per login: once to resolve the role, once to log in.)
    const sts = world.api.callsOf('GetCallerIdentity').filter((c) => c.accessKeyId === world.app.accessKeyId);
    expect(sts).to.not.be.empty;
    for (const call of sts) expect(call).to.include({ host: 'sts.amazonaws.com', region: 'us-east-1', service: 'sts', verified: true, status: 200 });
  });

  it('iam: logs in again after the token is revoked', async () => {
    await setUp({ ttl: '3s', maxTtl: '1h' });
    const seen = autoAuth(new AwsAuth(iamStatic(), { env: ec2Env() }));
    const first = await waitFor('a token', () => seen.tokens[0]);
    const signedBefore = world.api.callsOf('GetCallerIdentity').filter((c) => c.accessKeyId === world.app.accessKeyId && c.verified).length;
    await backend.revokeToken(first);
    const second = await waitFor('a new token', () => seen.tokens[1], 8_000);
    expect(second === first, 'the re-login gave a new token').to.equal(false);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, second)).json.data.path).to.equal('auth/aws/login');
    // The new login signed a new GetCallerIdentity, which STS (the stand-in) verified again.
    expect(world.api.callsOf('GetCallerIdentity').filter((c) => c.accessKeyId === world.app.accessKeyId && c.verified).length).to.be.greaterThan(signedBefore);
  });

  it('iam: the credential chain — config keys first, then the environment, the shared credentials file, the instance role', async () => {
    await setUp();
    const envKey = newAccessKey();
    const fileKey = newAccessKey();
    const roleKey = { ...newAccessKey('ASIA'), sessionToken: 'instance-role-session-token' };
    for (const [k, name] of [[envKey, 'env-user'], [fileKey, 'file-user'], [roleKey, 'instance-role']] as const) {
      world.api.addIdentity({ ...k, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/${name}`, userId: `AIDA${name}`, account: TEST_ACCOUNT });
    }
    const arns = ['app', 'env-user', 'file-user', 'instance-role'].map((n) => `arn:aws:iam::${TEST_ACCOUNT}:user/${n}`);
    await vaultApi(backend, 'POST', 'auth/aws/role/app', { bound_iam_principal_arn: arns });
    const dir = mkdtempSync(join(tmpdir(), 'vxp-aws-'));
    const credentials = join(dir, 'credentials');
    writeFileSync(credentials, `[default]\naws_access_key_id = nope\n\n[ci]\naws_access_key_id = ${fileKey.accessKeyId}\naws_secret_access_key = ${fileKey.secretAccessKey}\n`);
    world.imds.role = { name: 'instance-role', accessKeyId: roleKey.accessKeyId, secretAccessKey: roleKey.secretAccessKey, token: roleKey.sessionToken };
    const env = {
      AWS_ACCESS_KEY_ID: envKey.accessKeyId, AWS_SECRET_ACCESS_KEY: envKey.secretAccessKey,
      AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_PROFILE: 'ci', AWS_EC2_METADATA_SERVICE_ENDPOINT: world.imds.url,
    };
    const signedBy = async (auth: AwsAuth): Promise<string> => {
      const result = await auth.login(vault);
      expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, result.token)).status).to.equal(200);
      const last = world.api.callsOf('GetCallerIdentity').at(-1)!;
      expect(last.verified).to.equal(true);
      return last.accessKeyId;
    };
    const noKeys = method({ authType: 'iam', role: 'app' });
    expect(await signedBy(new AwsAuth(iamStatic(), { env }))).to.equal(world.app.accessKeyId);
    expect(await signedBy(new AwsAuth(noKeys, { env }))).to.equal(envKey.accessKeyId);
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...noEnvKeys } = env;
    expect(await signedBy(new AwsAuth(noKeys, { env: noEnvKeys }))).to.equal(fileKey.accessKeyId);
    const fileless = { ...noEnvKeys, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'missing') };
    // The instance role's temporary credentials carry a session token, which STS requires.
    expect(await signedBy(new AwsAuth(noKeys, { env: fileless }))).to.equal(roleKey.accessKeyId);
    expect(world.imds.calls.filter((c) => c.path.startsWith('/latest/meta-data/iam/')).every((c) => c.withToken)).to.equal(true);
  });

  it('iam: with enable_reauth_on_new_credentials, rotated instance-role credentials make one new login signed with the new key', async () => {
    await setUp();
    const keys = [{ ...newAccessKey('ASIA'), sessionToken: 'session-1' }, { ...newAccessKey('ASIA'), sessionToken: 'session-2' }];
    for (const [i, k] of keys.entries()) {
      world.api.addIdentity({ ...k, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/rotating-${i}`, userId: `AIDArotating${i}`, account: TEST_ACCOUNT });
    }
    await vaultApi(backend, 'POST', 'auth/aws/role/app', { bound_iam_principal_arn: keys.map((_, i) => `arn:aws:iam::${TEST_ACCOUNT}:user/rotating-${i}`) });
    const useRole = (k: (typeof keys)[number]) => {
      world.imds.role = { name: 'rotating', accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, token: k.sessionToken };
    };
    useRole(keys[0]!);
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: world.imds.url, AWS_SHARED_CREDENTIALS_FILE: join(mkdtempSync(join(tmpdir(), 'vxp-aws-')), 'none') };
    const seen = runAutoAuth({ address: backend.serviceUrl }, new AwsAuth(method({ authType: 'iam', role: 'app', credentialPollIntervalSeconds: 0.2 }), { env }), { reauthOnNewCredentials: true });
    runs.push(seen);
    await waitFor('a token', () => seen.tokens[0]);
    const signers = () => [...new Set(world.api.callsOf('GetCallerIdentity').filter((c) => c.verified).map((c) => c.accessKeyId))];
    expect(signers()).to.deep.equal([keys[0]!.accessKeyId]);
    useRole(keys[1]!);
    const second = await waitFor('a login with the rotated credentials', () => seen.tokens[1], 10_000);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, second)).json.data.path).to.equal('auth/aws/login');
    expect(signers()).to.deep.equal([keys[0]!.accessKeyId, keys[1]!.accessKeyId]);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(seen.tokens, 'one login per rotation').to.have.length(2);
  });

  it('iam: web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) comes before container credentials, which come before the instance role', async () => {
    await setUp();
    const roleArn = `arn:aws:iam::${TEST_ACCOUNT}:role/eks-app`;
    world.api.allowWebIdentity('projected-service-account-jwt', roleArn);
    const containerKey = newAccessKey('ASIA');
    world.api.addIdentity({ ...containerKey, sessionToken: 'container-session', arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/task-role/task`, userId: 'AROATASK:task', account: TEST_ACCOUNT });
    world.imds.container = { authorization: 'container-auth-token', ...containerKey, token: 'container-session' };
    world.imds.role = { name: 'instance-role', ...newAccessKey('ASIA'), token: 'never-used' };
    await vaultApi(backend, 'POST', 'auth/aws/role/app', { bound_iam_principal_arn: [roleArn, `arn:aws:iam::${TEST_ACCOUNT}:role/task-role`] });
    const dir = mkdtempSync(join(tmpdir(), 'vxp-aws-'));
    writeFileSync(join(dir, 'token'), 'projected-service-account-jwt\n');
    const base = {
      ...ec2Env(), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'missing'), AWS_ENDPOINT_URL_STS: world.api.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${world.imds.url}/container-credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
    };
    const noKeys = method({ authType: 'iam', role: 'app' });
    const webIdentity = await new AwsAuth(noKeys, { env: { ...base, AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'), AWS_ROLE_SESSION_NAME: 'pod-a' } }).login(vault);
    const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, webIdentity.token);
    expect(self.json.data.path).to.equal('auth/aws/login');
    expect(world.api.callsOf('AssumeRoleWithWebIdentity')).to.have.length(1);
    expect(world.api.callsOf('GetCallerIdentity').at(-1)).to.include({ verified: true });
    expect(world.api.callsOf('GetCallerIdentity').at(-1)!.accessKeyId).to.match(/^ASIA/);
    // A token the role does not trust: that provider fails and the chain goes on to the container's.
    writeFileSync(join(dir, 'token'), 'another-jwt\n');
    const container = await new AwsAuth(noKeys, { env: { ...base, AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token') } }).login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, container.token)).status).to.equal(200);
    expect(world.api.callsOf('GetCallerIdentity').at(-1)).to.include({ accessKeyId: containerKey.accessKeyId, verified: true });
    expect(world.imds.calls.filter((c) => c.path.startsWith('/latest/meta-data/iam/'))).to.deep.equal([]);
  });

  it('iam: a wrong secret key is refused (STS rejects the signature, Vault refuses the login)', async () => {
    await setUp();
    const auth = new AwsAuth(method({ authType: 'iam', role: 'app', accessKey: world.app.accessKeyId, secretKey: 'not-the-secret' }), { env: ec2Env() });
    const err = await auth.login(vault).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/SignatureDoesNotMatch/);
    expect(world.api.callsOf('GetCallerIdentity').at(-1)).to.include({ verified: false, status: 403 });
  });

  it('iam: header_value is sent and signed as X-Vault-AWS-IAM-Server-ID; Vault requires it when configured', async () => {
    await setUp({}, { iam_server_id_header_value: 'vault.example.com' });
    const without = await new AwsAuth(iamStatic(), { env: ec2Env() }).login(vault).then(() => undefined, (e: Error) => e);
    expect(without?.message).to.match(/X-Vault-AWS-IAM-Server-ID.*missing header/);
    const wrong = await new AwsAuth({ ...iamStatic(), headerValue: 'other.example.com' }, { env: ec2Env() }).login(vault).then(() => undefined, (e: Error) => e);
    expect(wrong?.message).to.match(/expected "vault.example.com" but got "other.example.com"/);
    const right = await new AwsAuth({ ...iamStatic(), headerValue: 'vault.example.com' }, { env: ec2Env() }).login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, right.token)).status).to.equal(200);
    expect(world.api.callsOf('GetCallerIdentity').at(-1)!.signedHeaders).to.include('x-vault-aws-iam-server-id');
  });

  it('iam: AWS_ENDPOINT_URL_STS sets the URL the request is signed for (region and host as given)', async () => {
    await setUp();
    const auth = new AwsAuth({ ...iamStatic(), region: 'eu-west-3' }, { env: { ...ec2Env(), AWS_ENDPOINT_URL_STS: world.api.url } });
    const result = await auth.login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, result.token)).status).to.equal(200);
    expect(world.api.callsOf('GetCallerIdentity').at(-1)).to.include({ host: `127.0.0.1:${world.api.port}`, region: 'eu-west-3', verified: true });
  });

  it('ec2: logs in with the identity document and signature from IMDS (IMDSv2 token first); the token works', async () => {
    await setUp();
    const seen = autoAuth(new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() }));
    const token = await waitFor('a token', () => seen.tokens[0]);
    const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.path).to.equal('auth/aws/login');
    expect(self.json.data.meta).to.include({ account_id: TEST_ACCOUNT, auth_type: 'ec2', role: 'ec2' });
    expect(world.imds.calls.map((c) => `${c.method} ${c.path} ${c.withToken ? 'token' : 'no-token'} ${c.status}`)).to.deep.equal([
      'PUT /latest/api/token no-token 200',
      'GET /latest/dynamic/instance-identity/document token 200',
      'GET /latest/dynamic/instance-identity/signature token 200',
    ]);
  });

  it('ec2: logs in again after the token is revoked with the same nonce; a new process (new nonce) is refused', async () => {
    await setUp({ ttl: '3s', maxTtl: '1h' });
    const auth = new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() });
    const seen = autoAuth(auth);
    const first = await waitFor('a token', () => seen.tokens[0]);
    const nonce = auth.currentNonce;
    expect(nonce).to.match(/^[0-9a-f-]{36}$/);
    await backend.revokeToken(first);
    const second = await waitFor('a new token', () => seen.tokens[1], 8_000);
    expect(second === first, 'the re-login gave a new token').to.equal(false);
    expect(auth.currentNonce).to.equal(nonce);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
    // Vault tied the instance to the first nonce: another one (a restarted agent without `nonce`) is refused.
    const restarted = await new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() }).login(vault).then(() => undefined, (e: Error) => e);
    expect(restarted?.message).to.match(/client nonce mismatch/);
    // With the nonce configured, a restart logs in.
    const configured = await new AwsAuth(method({ authType: 'ec2', role: 'ec2', nonce: nonce! }), { env: ec2Env() }).login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, configured.token)).status).to.equal(200);
  });

  it('ec2: falls back to IMDSv1 when the token request is answered 404', async () => {
    await setUp();
    world.imds.v1Only = true;
    const result = await new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() }).login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, result.token)).status).to.equal(200);
    expect(world.imds.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).to.deep.equal([
      'PUT /latest/api/token 404',
      'GET /latest/dynamic/instance-identity/document 200',
      'GET /latest/dynamic/instance-identity/signature 200',
    ]);
  });

  it('ec2: Vault asks EC2 DescribeInstances (signed with its own keys) and refuses an instance that is not running', async () => {
    await setUp();
    world.api.addInstance({ instanceId: world.instance.instanceId, imageId: world.instance.imageId, state: 'stopped' });
    const err = await new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() }).login(vault).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/failed to verify instance ID: instance is not in 'running' state/);
    const describe = world.api.callsOf('DescribeInstances');
    expect(describe).to.not.be.empty;
    for (const call of describe) expect(call).to.include({ service: 'ec2', region: 'us-east-1', verified: true, status: 200 });
    world.api.addInstance({ instanceId: world.instance.instanceId, imageId: world.instance.imageId, state: 'running' });
    const result = await new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() }).login(vault);
    expect((await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, result.token)).status).to.equal(200);
  });

  it('ec2: a document signed by another key is refused', async () => {
    await setUp();
    world.imds.identity = { ...world.instance, instanceId: 'i-0ffffffffffffffff' };
    world.api.addInstance({ instanceId: 'i-0ffffffffffffffff', imageId: world.instance.imageId, state: 'running' });
    // The document the stand-in serves is signed; a tampered copy of it is not.
    const auth = new AwsAuth(method({ authType: 'ec2', role: 'ec2' }), { env: ec2Env() });
    const original = world.imds.document.bind(world.imds);
    let calls = 0;
    world.imds.document = () => (calls++ % 2 === 0 ? original().replace('t3.micro', 'm5.large') : original());
    const err = await auth.login(vault).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/SHA256 RSA/);
  });
});
