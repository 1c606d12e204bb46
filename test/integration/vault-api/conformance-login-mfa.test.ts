// Login MFA with TOTP (Vault 1.15 CE): a userpass login under a login enforcement gets a token
// only with a valid, unused passcode in X-Vault-MFA (single phase) or after sys/mfa/validate (two
// phases); without one it gets `auth.mfa_requirement` and no token. Both backends; the TOTP codes
// are computed from the secret admin-generate hands out (otpauth URL), as an authenticator would.
import { expect } from 'chai';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { totpCode } from '../../support/vault-sim/totp.js';
import { rawRequest, type RawResponse } from './raw-http.js';
import { UUID } from './support.js';

const MFA_WARNING = 'A login request was issued that is subject to MFA validation. Please make sure to validate the login by sending another request to mfa/validate endpoint.';
const PLAIN_DENIED = { errors: ['permission denied'] };

forEachBackend('Vault API: login MFA (TOTP)', (kind) => {
  let backend: Backend;
  let vault: SimClient;
  let methodId: string;
  let entityId: string;
  let secret: string;
  const used = new Set<string>();

  /** A passcode Vault accepts now (skew 1: this period or a neighbour) that no login has used. */
  const freshCode = (): string => {
    for (const offset of [0, -30_000, 30_000]) {
      const code = totpCode(secret, Date.now() + offset);
      if (!used.has(code)) {
        used.add(code);
        return code;
      }
    }
    throw new Error('no unused TOTP code left in this window');
  };
  /** A six-digit passcode that is not valid in any accepted period. */
  const wrongCode = (): string => {
    const valid = [-30_000, 0, 30_000].map((o) => totpCode(secret, Date.now() + o));
    for (let n = 0; ; n++) {
      const code = String(n).padStart(6, '0');
      if (!valid.includes(code)) return code;
    }
  };
  const login = (headers: [string, string][] = [], password = 'pw'): Promise<RawResponse> =>
    rawRequest(backend.url, 'POST', '/v1/auth/userpass/login/alice', [['Content-Type', 'application/json'], ...headers], JSON.stringify({ password }));
  const validate = (body: unknown): Promise<RawResponse> =>
    rawRequest(backend.url, 'POST', '/v1/sys/mfa/validate', [['Content-Type', 'application/json']], JSON.stringify(body));
  const expectToken = async (res: RawResponse): Promise<void> => {
    expect(res.status, res.body).to.equal(200);
    expect(res.json.auth.client_token).to.match(/^hvs\./);
    expect(res.json.auth.entity_id).to.equal(entityId);
    expect(res.json.auth.mfa_requirement).to.equal(null);
    const self = await vault.call('GET', 'auth/token/lookup-self', { token: res.json.auth.client_token });
    expect(self.status).to.equal(200);
    expect(self.json.data.meta).to.deep.equal({ username: 'alice' });
  };

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    expect((await vault.call('POST', 'sys/auth/userpass', { body: { type: 'userpass' } })).status).to.equal(204);
    expect((await vault.call('POST', 'auth/userpass/users/alice', { body: { password: 'pw', token_policies: 'default' } })).status).to.equal(204);
    // The first login makes alice's entity; MFA is enforced from here on.
    const first = await login();
    expect(first.status).to.equal(200);
    entityId = first.json.auth.entity_id;
    expect(entityId).to.match(UUID);
    const accessor = (await vault.call('GET', 'sys/auth')).json.data['userpass/'].accessor as string;
    const method = await vault.call('POST', 'identity/mfa/method/totp', { body: { issuer: 'Vault', period: 30, key_size: 20, algorithm: 'SHA1', digits: 6 } });
    expect(method.status).to.equal(200);
    methodId = method.json.data.method_id;
    const generated = await vault.call('POST', 'identity/mfa/method/totp/admin-generate', { body: { method_id: methodId, entity_id: entityId } });
    expect(generated.status).to.equal(200);
    expect(Object.keys(generated.json.data).sort()).to.deep.equal(['barcode', 'url']);
    const url = new URL(generated.json.data.url as string);
    expect(url.protocol).to.equal('otpauth:');
    expect(Object.fromEntries(url.searchParams)).to.include({ algorithm: 'SHA1', digits: '6', issuer: 'Vault', period: '30' });
    secret = url.searchParams.get('secret')!;
    expect(secret).to.match(/^[A-Z2-7]+$/);
    const enforcement = await vault.call('POST', 'identity/mfa/login-enforcement/enf', { body: { mfa_method_ids: [methodId], auth_method_accessors: [accessor] } });
    expect(enforcement.status).to.equal(204);
  });

  after(async function () {
    await backend?.close();
  });

  it('reads back the TOTP method with its defaults, and admin-generate twice only warns', async function () {
    const method = await vault.call('GET', `identity/mfa/method/totp/${methodId}`);
    expect(method.json.data).to.deep.equal({
      algorithm: 'SHA1', digits: 6, id: methodId, issuer: 'Vault', key_size: 20, max_validation_attempts: 5, name: '',
      namespace_id: 'root', namespace_path: '', period: 30, qr_size: 200, skew: 1, type: 'totp',
    });
    const again = await vault.call('POST', 'identity/mfa/method/totp/admin-generate', { body: { method_id: methodId, entity_id: entityId } });
    expect(again.status).to.equal(200);
    expect(again.json.data).to.equal(null);
    expect(again.json.warnings).to.deep.equal(['Entity already has a secret for MFA method ""']);
  });

  it('answers a login without X-Vault-MFA with auth.mfa_requirement and no token', async function () {
    const res = await login();
    expect(res.status).to.equal(200);
    expect(res.json.data).to.equal(null);
    expect(res.json.warnings).to.deep.equal([MFA_WARNING]);
    const { mfa_requirement: requirement, ...rest } = res.json.auth;
    expect(rest).to.deep.equal({
      client_token: '', accessor: '', policies: null, metadata: null, lease_duration: 0, renewable: false, entity_id: '',
      token_type: 'default', orphan: false, num_uses: 0,
    });
    expect(requirement.mfa_request_id).to.match(UUID);
    expect(requirement.mfa_constraints).to.deep.equal({ enf: { any: [{ type: 'totp', id: methodId, uses_passcode: true }] } });
  });

  it('refuses a wrong, short or missing passcode and an unknown method with 403 permission denied', async function () {
    for (const header of [`${methodId}:${wrongCode()}`, `${methodId}:12345`, methodId, `nosuch:${totpCode(secret)}`]) {
      const res = await login([['X-Vault-MFA', header]]);
      expect(res.status, header).to.equal(403);
      expect(res.json).to.deep.equal(PLAIN_DENIED);
    }
  });

  it('refuses a malformed X-Vault-MFA header with 400 before anything else, on any logical request', async function () {
    const noMethod = await login([['X-Vault-MFA', ':123456']]);
    expect(noMethod.status).to.equal(400);
    expect(noMethod.json).to.deep.equal({ errors: ['failed to parse X-Vault-MFA header: invalid data in header "X-Vault-MFA"; missing method name or ID'] });
    const noValue = await login([['X-Vault-MFA', `${methodId}:`]]);
    expect(noValue.status).to.equal(400);
    expect(noValue.json).to.deep.equal({ errors: ['failed to parse X-Vault-MFA header: invalid data in header "X-Vault-MFA"; missing method value'] });
    // Any logical request, not only logins; help and sys/health do not parse the header.
    const bad: [string, string][] = [['X-Vault-Token', backend.rootToken], ['X-Vault-MFA', ':x']];
    const read = await rawRequest(backend.url, 'GET', '/v1/sys/auth', bad);
    expect(read.status).to.equal(400);
    expect(read.json.errors[0]).to.match(/^failed to parse X-Vault-MFA header: /);
    expect((await rawRequest(backend.url, 'GET', '/v1/sys/auth?help=1', bad)).status).to.equal(200);
    expect((await rawRequest(backend.url, 'GET', '/v1/sys/health', bad)).status).to.equal(200);
  });

  it('logs in with a valid passcode (single phase), which cannot be used twice', async function () {
    const code = freshCode();
    // A wrong password fails first and does not spend the passcode.
    const badPassword = await login([['X-Vault-MFA', `${methodId}:${code}`]], 'not-the-password');
    expect(badPassword.status).to.equal(400);
    expect(badPassword.json).to.deep.equal({ errors: ['invalid username or password'] });
    await expectToken(await login([['X-Vault-MFA', `${methodId}:${code}`]]));
    const replay = await login([['X-Vault-MFA', `${methodId}:${code}`]]);
    expect(replay.status).to.equal(403);
    expect(replay.json).to.deep.equal(PLAIN_DENIED);
    // And without the header the same login is back to a requirement, not a token.
    const bare = await login();
    expect(bare.json.auth.client_token).to.equal('');
  });

  it('logs in in two phases: sys/mfa/validate refuses a wrong passcode and keeps the request, then gives the token once', async function () {
    const first = await login();
    const requestId = first.json.auth.mfa_requirement.mfa_request_id as string;
    const wrong = await validate({ mfa_request_id: requestId, mfa_payload: { [methodId]: [wrongCode()] } });
    expect(wrong.status).to.equal(403);
    expect(wrong.json).to.deep.equal({
      errors: [`failed to satisfy enforcement enf. error: 2 errors occurred:\n\t* failed to validate TOTP passcode\n\t* login MFA validation failed for methodID: [${methodId}]\n\n`],
    });
    const noCreds = await validate({ mfa_request_id: requestId, mfa_payload: {} });
    expect(noCreds.status).to.equal(403);
    expect(noCreds.json).to.deep.equal({
      errors: [`failed to satisfy enforcement enf. error: failed to sanitize MFA creds, 1 error occurred:\n\t* failed to find MFA credentials associated with an MFA method ID ${methodId}, method name \n\n`],
    });
    await expectToken(await validate({ mfa_request_id: requestId, mfa_payload: { [methodId]: [freshCode()] } }));
    const again = await validate({ mfa_request_id: requestId, mfa_payload: { [methodId]: [freshCode()] } });
    expect(again.status).to.equal(400);
    expect(again.json).to.deep.equal({ errors: ['invalid request ID'] });
    const missing = await validate({ mfa_payload: {} });
    expect(missing.status).to.equal(400);
    expect(missing.json).to.deep.equal({ errors: ['missing request ID'] });
  });
});
