// vault-extproc (the built CLI) behind real Envoy with every kind of Vault Agent file sink: each
// sink is read back the way Vault Agent's consumers read it — with Vault's own dhutil and api
// packages (the Go tool in test/sink-reader) — and gives the very token a request through Envoy
// carries. A method with wrap_ttl leaves only the wrapping token, in the sink.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getThroughEnvoy, runCli, writeCheckConfig } from '../../support/auto-auth-e2e.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../../support/vault-setup.js';
import { buildSinkReader, consumerKeys, readSink } from '../../sink-reader/reader.js';

const SECRET_PATH = '/v1/secret/data/app/config';
const AAD_VAR = 'VXP_E2E_SINK_AAD';

forEachBackend('e2e: Vault Agent\'s file sinks (plain, wrapped, DH-encrypted, wrapped login) through real Envoy', function (kind) {
  this.timeout(90_000);
  let backend: Backend;
  let creds: AppRoleCreds;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => backend);

  before(async function () {
    this.timeout(600_000); // the first run builds the Go tool
    await buildSinkReader();
    backend = await startBackend(kind);
    await writePolicy(backend, 'app', 'path "secret/data/app/*" { capabilities = ["read"] }');
    await vaultApi(backend, 'POST', 'secret/data/app/config', { data: { password: 'sink-e2e-value' } });
    creds = await setupAppRole(backend, { policies: ['app'] });
  });

  after(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    await backend?.close();
  });

  const approle = (dir: string, extra = ''): string => {
    writeFileSync(join(dir, 'role_id'), creds.roleId);
    writeFileSync(join(dir, 'secret_id'), creds.secretId);
    return `method "approle" {
    ${extra}
    config = {
      role_id_file_path = "${join(dir, 'role_id')}"
      secret_id_file_path = "${join(dir, 'secret_id')}"
      remove_secret_id_file_after_reading = false
    }
  }`;
  };

  it('serve writes a plain, a wrapped and a DH-encrypted sink; each, read as Agent\'s consumers read it, is the token a request through Envoy carries', async () => {
    const asRoot = process.getuid?.() === 0;
    const owner = asRoot ? { uid: 4321, gid: 8765 } : { uid: process.getuid!(), gid: process.getgid!() };
    const consumerDir = mkdtempSync(join(tmpdir(), 'vxp-consumer-'));
    const keys = await consumerKeys(consumerDir);
    process.env[AAD_VAR] = 'pod-7f3a';
    let stack: Stack;
    try {
      stack = await startStack({
        vault: backend,
        hcl: ({ dir }) => `
auto_auth {
  ${approle(dir)}
  sink "file" {
    config = { path = "${join(dir, 'token')}" mode = 0600 uid = ${owner.uid} gid = ${owner.gid} }
  }
  sink "file" {
    wrap_ttl = "5m"
    config = { path = "${join(dir, 'token.wrapped')}" }
  }
  sink "file" {
    dh_type = "curve25519"
    dh_path = "${keys.publicKeyPath}"
    derive_key = true
    aad_env_var = "${AAD_VAR}"
    config = { path = "${join(dir, 'token.dh')}" }
  }
}
api_proxy { use_auto_auth_token = true }
`,
      });
    } finally {
      delete process.env[AAD_VAR];
    }
    stacks.push(stack);
    const dir = stack.dir;
    for (const f of ['token', 'token.wrapped', 'token.dh']) await waitFor(`the sink ${f}`, () => (statSync(join(dir, f), { throwIfNoEntry: false }) ? true : undefined));

    const plain = readFileSync(join(dir, 'token'), 'utf8');
    const st = statSync(join(dir, 'token'));
    expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }).to.deep.equal({ mode: 0o600, ...owner });
    expect(statSync(join(dir, 'token.wrapped')).mode & 0o7777, 'the default mode').to.equal(0o640);

    const decrypted = await readSink(join(dir, 'token.dh'), { key: keys.privateKeyPath, aad: 'pod-7f3a', derive: true });
    expect(decrypted.envelope_reencoded).to.equal(true);
    expect(decrypted.value).to.equal(plain);
    const unwrapped = await readSink(join(dir, 'token.wrapped'), { wrapped: true, unwrapAt: backend.url });
    expect(unwrapped.wrap_reencoded).to.equal(true);
    expect(unwrapped.wrap_info).to.include({ ttl: 300, creation_path: 'sys/wrapping/wrap' });
    expect(unwrapped.unwrapped_token).to.equal(plain);

    const read = await getThroughEnvoy(stack, backend, SECRET_PATH);
    expect(read.status).to.equal(200);
    expect(read.body.data.data).to.deep.equal({ password: 'sink-e2e-value' });
    expect(read.seen).to.have.length(1);
    expect(read.seen[0]!.token).to.equal(await backend.tokenAsSeen(plain));
    expect(stack.logs()).not.to.include(plain);
  });

  it('method wrap_ttl: serve is ready without a token, the one sink (here also DH-encrypted) holds the wrapping token of the login, and Envoy\'s requests get no token', async () => {
    const consumerDir = mkdtempSync(join(tmpdir(), 'vxp-consumer-'));
    const keys = await consumerKeys(consumerDir);
    const stack = await startStack({
      vault: backend,
      hcl: ({ dir }) => `
auto_auth {
  ${approle(dir, 'wrap_ttl = "2m"')}
  sink "file" {
    dh_type = "curve25519"
    dh_path = "${keys.publicKeyPath}"
    config = { path = "${join(dir, 'wrapped-login')}" }
  }
}
`,
    });
    stacks.push(stack);
    const path = join(stack.dir, 'wrapped-login');
    await waitFor('the sink', () => (statSync(path, { throwIfNoEntry: false }) ? true : undefined));
    const reading = await readSink(path, { key: keys.privateKeyPath, wrapped: true, unwrapAt: backend.url });
    expect(reading.wrap_info).to.include({ ttl: 120, creation_path: 'auth/approle/login' });
    expect(reading.unwrapped_from).to.equal('auth.client_token');
    const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, reading.unwrapped_token!);
    expect(self.json.data.path).to.equal('auth/approle/login');
    expect(self.json.data.policies).to.include('app');

    backend.clearRequests();
    const res = await fetch(`${stack.url}${SECRET_PATH}`);
    expect(res.status, 'no token is added: Vault refuses the request').to.equal(403);
    expect((await backend.requestsTo(SECRET_PATH))[0]?.token ?? undefined).to.equal(undefined);
    const withToken = await fetch(`${stack.url}${SECRET_PATH}`, { headers: { 'x-vault-token': reading.unwrapped_token! } });
    expect(withToken.status, 'the consumer uses the unwrapped token itself').to.equal(200);
  });

  it('check: every sink key is accepted; method wrap_ttl with use_auto_auth_token and a dh_path that is no key are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-sinks-check-'));
    mkdirSync(join(dir, 'run'));
    const keys = await consumerKeys(dir);
    writeFileSync(join(dir, 'not-a-key.json'), '{"curve25519_public_key": "c2hvcnQ="}');
    const file = (name: string, autoAuth: string, rest = ''): string => writeCheckConfig(dir, name, backend.serviceUrl, `auto_auth {
${autoAuth}
}
${rest}`);
    const all = file('all.hcl', `${approle(dir)}
  sink "file" {
    wrap_ttl = "5m"
    dh_type = "curve25519"
    dh_path = "${keys.publicKeyPath}"
    derive_key = true
    aad = "x"
    config = { path = "${join(dir, 'run', 'token')}" mode = 0600 uid = ${process.getuid!()} gid = ${process.getgid!()} }
  }`);
    const ok = await runCli(['check', '--config', all]);
    expect(ok.code, ok.stdout).to.equal(0);
    expect(ok.stdout).not.to.match(/sink.*not (implemented|written)/);

    const combined = await runCli(['check', '--config', file('combined.hcl', `${approle(dir, 'wrap_ttl = "1m"')}
  sink "file" { config = { path = "${join(dir, 'run', 'token')}" } }`, 'api_proxy { use_auto_auth_token = true }')]);
    expect(combined.code).to.equal(1);
    expect(combined.stdout).to.include('api_proxy: use_auto_auth_token = true cannot work with wrap_ttl on the auto_auth method');

    const badKey = await runCli(['check', '--config', file('bad-key.hcl', `${approle(dir)}
  sink "file" {
    dh_type = "curve25519"
    dh_path = "${join(dir, 'not-a-key.json')}"
    config = { path = "${join(dir, 'run', 'token')}" }
  }`)]);
    expect(badKey.code).to.equal(1);
    expect(badKey.stdout).to.include('auto_auth > sink "file" > dh_path: the curve25519_public_key in');
    expect(badKey.stdout).to.include('has 5 bytes, not 32');
  });
});
