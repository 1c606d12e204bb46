// A token sink that cannot be written must not cost Vault anything: the worker logs in once, uses
// the token, and retries the sink on its own (before, every failed write meant another login: a
// sink directory that did not exist made 13 → 22 live tokens in 10 s).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AppRoleAuth } from '../../../src/worker/auth/approle.js';
import type { FileSink } from '../../../src/config/types.js';
import { AutoAuth } from '../../../src/worker/auto-auth.js';
import { VaultClient } from '../../../src/vault/client.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { setupAppRole, vaultApi } from '../../support/vault-setup.js';
import { buildSinkReader, consumerKeys, readSink } from '../../sink-reader/reader.js';

forEachBackend('worker: a token sink that cannot be written', function (kind) {
  this.timeout(30_000);
  let vault: Backend;
  let dir: string;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; client: VaultClient }> = [];

  beforeEach(async () => {
    vault = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-sink-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.client.close();
    }
    await vault.close();
  });

  async function start(sinkPath: string, exitAfterAuth = false) {
    const creds = await setupAppRole(vault, { policies: ['default'] });
    writeFileSync(join(dir, 'role_id'), creds.roleId);
    writeFileSync(join(dir, 'secret_id'), creds.secretId);
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 2_000);
    const seen = { tokens: [] as string[], exits: [] as number[] };
    const auto = new AutoAuth({
      vault: client,
      method: new AppRoleAuth({
        type: 'approle', mountPath: 'auth/approle', roleIdFilePath: join(dir, 'role_id'), secretIdFilePath: join(dir, 'secret_id'),
        removeSecretIdFileAfterReading: false, minBackoffSeconds: 1, maxBackoffSeconds: 1, exitOnError: false,
      }),
      sinks: [{ path: sinkPath, mode: 0o600 }],
      log: pino({ level: 'silent' }),
      // Before the fix a failed sink write meant a new login after min_backoff: 200 ms here.
      minBackoffMs: 200, maxBackoffMs: 1_000, exitOnError: false, exitAfterAuth,
      onToken: (t) => seen.tokens.push(t.token),
      onExit: (code) => seen.exits.push(code),
    });
    vault.clearRequests();
    const done = auto.run();
    running.push({ auto, done, client });
    return seen;
  }

  const logins = (): number => vault.requestsTo('/v1/auth/approle/login').length;

  it('a missing sink directory: one login in 4 s, the token is used, and the sink is written once the directory exists', async () => {
    const sinkDir = join(dir, 'not-yet');
    const seen = await start(join(sinkDir, 'token'));
    const token = await waitFor('the token handed to ext_proc', () => seen.tokens[0]);
    await sleep(4_000);
    expect(logins()).to.equal(1);
    expect(seen.tokens).to.deep.equal([token]);
    mkdirSync(sinkDir);
    await waitFor('the sink written', () => (existsSync(join(sinkDir, 'token')) ? true : undefined), 5_000);
    expect(readFileSync(join(sinkDir, 'token'), 'utf8')).to.equal(token);
    expect(logins()).to.equal(1);
  });

  it('exit_after_auth waits for the sink instead of logging in again, then exits 0', async () => {
    const sinkDir = join(dir, 'later');
    const seen = await start(join(sinkDir, 'token'), true);
    await waitFor('the token handed to ext_proc', () => seen.tokens[0]);
    await sleep(2_000);
    expect(seen.exits).to.deep.equal([]);
    mkdirSync(sinkDir);
    await waitFor('the exit', () => (seen.exits.length > 0 ? true : undefined), 5_000);
    expect(seen.exits).to.deep.equal([0]);
    expect(readFileSync(join(sinkDir, 'token'), 'utf8')).to.equal(seen.tokens[0]);
    expect(logins()).to.equal(1);
  });
});

// Every kind of file sink Vault Agent writes, read back the way its consumers read them: the Go
// tool in test/sink-reader decrypts with Vault's helper/dhutil, decodes api.SecretWrapInfo and
// unwraps with Vault's api client; the token it ends with must work against the backend.
forEachBackend('worker: file sinks as Vault Agent writes them (read with Vault\'s own code)', function (kind) {
  this.timeout(60_000);
  let vault: Backend;
  let dir: string;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; client: VaultClient }> = [];

  before(async function () {
    this.timeout(600_000); // the first run builds the Go tool
    await buildSinkReader();
  });
  beforeEach(async () => {
    vault = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-sinks-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.client.close();
    }
    await vault.close();
  });

  async function start(sinks: FileSink[], extra: Partial<ConstructorParameters<typeof AutoAuth>[0]> = {}, wrappedSecretId = false) {
    const creds = await setupAppRole(vault, { policies: ['default'] });
    writeFileSync(join(dir, 'role_id'), creds.roleId);
    writeFileSync(join(dir, 'secret_id'), wrappedSecretId ? await wrappedSecretIdToken() : creds.secretId);
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 2_000);
    const seen = { tokens: [] as string[], exits: [] as number[] };
    const auto = new AutoAuth({
      vault: client,
      method: new AppRoleAuth({
        type: 'approle', mountPath: 'auth/approle', roleIdFilePath: join(dir, 'role_id'), secretIdFilePath: join(dir, 'secret_id'),
        removeSecretIdFileAfterReading: false, minBackoffSeconds: 1, maxBackoffSeconds: 1, exitOnError: false,
        ...(wrappedSecretId ? { secretIdResponseWrappingPath: 'auth/approle/role/app/secret-id' } : {}),
      }),
      sinks, log: pino({ level: 'silent' }),
      minBackoffMs: 200, maxBackoffMs: 1_000, exitOnError: false, exitAfterAuth: false,
      onToken: (t) => seen.tokens.push(t.token),
      onExit: (code) => seen.exits.push(code),
      ...extra,
    });
    vault.clearRequests();
    const done = auto.run();
    running.push({ auto, done, client });
    return seen;
  }

  /** A secret_id response-wrapped by Vault (the AppRole way of handing one out). */
  async function wrappedSecretIdToken(): Promise<string> {
    const res = await fetch(`${vault.url}/v1/auth/approle/role/app/secret-id`, { method: 'POST', headers: { 'x-vault-token': vault.rootToken, 'x-vault-wrap-ttl': '60s' } });
    return ((await res.json()) as { wrap_info: { token: string } }).wrap_info.token;
  }
  const failure = (p: Promise<unknown>) => p.then(() => 'no failure', (err: Error) => err.message);
  const written = (path: string) => waitFor(`the sink ${path}`, () => (existsSync(path) ? readFileSync(path, 'utf8') : undefined));
  const works = async (token: string) => (await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.path as string;

  it('plain: the bare token (no newline) with the configured mode; uid/gid set on the file', async () => {
    const asRoot = process.getuid?.() === 0;
    // As root the owner can be anyone; otherwise only one's own uid/gid can be given.
    const owner = asRoot ? { uid: 4321, gid: 8765 } : { uid: process.getuid!(), gid: process.getgid!() };
    const path = join(dir, 'token');
    const seen = await start([{ path, mode: 0o604, ...owner }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    expect(await written(path)).to.equal(token);
    const st = statSync(path);
    expect(st.mode & 0o7777).to.equal(0o604);
    expect({ uid: st.uid, gid: st.gid }).to.deep.equal(owner);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    expect(await readSink(path)).to.include({ value: token });
    expect(await works(token)).to.equal('auth/approle/login');
  });

  it('wrap_ttl: Vault Agent\'s wrap_info JSON, byte for byte; unwrapping it gives the working token', async () => {
    const path = join(dir, 'wrapped');
    const seen = await start([{ path, mode: 0o600, wrapTtlSeconds: 300 }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    await written(path);
    const reading = await readSink(path, { wrapped: true, unwrapAt: vault.url });
    expect(reading.wrap_reencoded, 'Go re-encodes the wrap info to the same bytes').to.equal(true);
    expect(reading.wrap_info).to.include({ ttl: 300, creation_path: 'sys/wrapping/wrap' });
    expect(reading.wrap_info!.token).to.not.equal(token);
    expect(reading.unwrapped_from).to.equal('data.token');
    expect(reading.unwrapped_token).to.equal(token);
    expect(await works(reading.unwrapped_token!)).to.equal('auth/approle/login');
    expect(vault.requestsTo('/v1/sys/wrapping/wrap')).to.have.length(1);
    expect(await failure(readSink(path, { wrapped: true, unwrapAt: vault.url })), 'a wrapping token unwraps once').to.match(/unwrap/);
  });

  it('dh_type curve25519 with derive_key and aad: dhutil decrypts the envelope to the token; the wrong aad does not', async () => {
    const keys = await consumerKeys(dir);
    const path = join(dir, 'encrypted');
    const seen = await start([{ path, mode: 0o600, dh: { type: 'curve25519', path: keys.publicKeyPath, aad: 'fleet-42', deriveKey: true } }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    const raw = await written(path);
    expect(raw).to.not.include(token);
    const reading = await readSink(path, { key: keys.privateKeyPath, aad: 'fleet-42', derive: true });
    expect(reading.envelope_reencoded, 'Go re-encodes the envelope to the same bytes').to.equal(true);
    expect(reading.value).to.equal(token);
    expect(await failure(readSink(path, { key: keys.privateKeyPath, aad: 'fleet-43', derive: true }))).to.match(/decrypt/);
    expect(await failure(readSink(path, { key: keys.privateKeyPath, aad: 'fleet-42' })), 'without HKDF').to.match(/decrypt/);
    expect(await works(reading.value)).to.equal('auth/approle/login');
  });

  it('dh_type curve25519 without derive_key: the raw X25519 secret is the AES key', async () => {
    const keys = await consumerKeys(dir);
    const path = join(dir, 'encrypted');
    const seen = await start([{ path, mode: 0o600, dh: { type: 'curve25519', path: keys.publicKeyPath, aad: '', deriveKey: false } }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    await written(path);
    expect((await readSink(path, { key: keys.privateKeyPath })).value).to.equal(token);
  });

  it('wrap_ttl and dh_type together, in Agent\'s order: decrypt, then unwrap, then the token works', async () => {
    const keys = await consumerKeys(dir);
    const path = join(dir, 'both');
    const seen = await start([{ path, mode: 0o600, wrapTtlSeconds: 120, dh: { type: 'curve25519', path: keys.publicKeyPath, aad: 'x', deriveKey: true } }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    await written(path);
    const reading = await readSink(path, { key: keys.privateKeyPath, aad: 'x', derive: true, wrapped: true, unwrapAt: vault.url });
    expect(reading.envelope_reencoded).to.equal(true);
    expect(reading.wrap_reencoded).to.equal(true);
    expect(reading.wrap_info).to.include({ ttl: 120, creation_path: 'sys/wrapping/wrap' });
    expect(reading.unwrapped_token).to.equal(token);
    expect(await works(token)).to.equal('auth/approle/login');
  });

  it('dh_path not there yet: the token is used at once, the sink is written when the key appears (no second login)', async () => {
    const keyDir = join(dir, 'consumer');
    mkdirSync(keyDir);
    const path = join(dir, 'encrypted');
    const seen = await start([{ path, mode: 0o600, dh: { type: 'curve25519', path: join(keyDir, 'dh.json'), aad: '', deriveKey: true } }]);
    const token = await waitFor('the token', () => seen.tokens[0]);
    await sleep(1_500);
    expect(existsSync(path)).to.equal(false);
    const keys = await consumerKeys(keyDir);
    await written(path);
    expect((await readSink(path, { key: keys.privateKeyPath, derive: true })).value).to.equal(token);
    expect(vault.requestsTo('/v1/auth/approle/login')).to.have.length(1);
  });

  it('method wrap_ttl: the login is wrapped, the sink holds the wrapping token of auth/approle/login, nothing is renewed or handed to ext_proc', async () => {
    const path = join(dir, 'login-wrapped');
    const seen = await start([{ path, mode: 0o600 }], { loginWrap: { ttlSeconds: 90, mountPath: 'auth/approle' }, reauthOnNewCredentials: true, credentialPollMs: 100 });
    await written(path);
    const reading = await readSink(path, { wrapped: true, unwrapAt: vault.url });
    expect(reading.wrap_reencoded).to.equal(true);
    expect(reading.wrap_info).to.include({ ttl: 90, creation_path: 'auth/approle/login' });
    expect(reading.unwrapped_from).to.equal('auth.client_token');
    expect(await works(reading.unwrapped_token!)).to.equal('auth/approle/login');
    expect(seen.tokens, 'no token for ext_proc').to.deep.equal([]);
    expect(vault.requestsTo('/v1/auth/token/renew-self')).to.deep.equal([]);
    expect(vault.requestsTo('/v1/auth/approle/login')).to.have.length(1);
    // A new secret_id (enable_reauth_on_new_credentials) is the one thing that makes a new wrapped login.
    const fresh = (await vaultApi(vault, 'POST', 'auth/approle/role/app/secret-id')).json.data.secret_id as string;
    writeFileSync(join(dir, 'secret_id'), fresh);
    await waitFor('a second wrapped login', () => (vault.requestsTo('/v1/auth/approle/login').length === 2 ? true : undefined));
    await waitFor('the sink rewritten', () => (readFileSync(path, 'utf8').includes(reading.wrap_info!.token) ? undefined : true));
    const again = await readSink(path, { wrapped: true, unwrapAt: vault.url });
    expect(again.wrap_info!.token).to.not.equal(reading.wrap_info!.token);
    expect(await works(again.unwrapped_token!)).to.equal('auth/approle/login');
    expect(seen.tokens).to.deep.equal([]);
  });

  it('method wrap_ttl with a response-wrapped secret_id: only the login is wrapped, not the secret_id unwrap before it', async () => {
    const path = join(dir, 'login-wrapped');
    await start([{ path, mode: 0o600 }], { loginWrap: { ttlSeconds: 60, mountPath: 'auth/approle' } }, true);
    await written(path);
    expect(vault.requestsTo('/v1/sys/wrapping/unwrap')).to.have.length(1);
    const reading = await readSink(path, { wrapped: true, unwrapAt: vault.url });
    expect(reading.wrap_info).to.include({ ttl: 60, creation_path: 'auth/approle/login' });
    expect(await works(reading.unwrapped_token!)).to.equal('auth/approle/login');
  });

  it('enable_reauth_on_new_credentials: a new secret_id file makes one new AppRole login, whose token replaces the old one in the sink', async () => {
    const path = join(dir, 'token');
    const seen = await start([{ path, mode: 0o600 }], { reauthOnNewCredentials: true, credentialPollMs: 100 });
    const first = await waitFor('the first token', () => seen.tokens[0]);
    expect(await written(path)).to.equal(first);
    const fresh = (await vaultApi(vault, 'POST', 'auth/approle/role/app/secret-id')).json.data.secret_id as string;
    writeFileSync(join(dir, 'secret_id.new'), fresh);
    renameSync(join(dir, 'secret_id.new'), join(dir, 'secret_id'));
    const second = await waitFor('a second token', () => seen.tokens[1]);
    await waitFor('the sink rewritten', () => (readFileSync(path, 'utf8') === second ? true : undefined));
    await sleep(1_000);
    expect(vault.requestsTo('/v1/auth/approle/login')).to.have.length(2);
    expect(seen.tokens).to.have.length(2);
    expect(await works(second)).to.equal('auth/approle/login');
  });
});
