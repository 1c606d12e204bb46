// The jwt auto-auth method against both backends: a real Vault's jwt plugin (and the
// simulator's) with jwt_validation_pubkeys made by the test (RS256 and ES256, node:crypto). The
// worker's JwtAuth reads the JWT file as Vault Agent 1.15 does (removed after reading by default,
// the last JWT kept for re-login); AutoAuth (src/worker/auto-auth.ts) logs in again when the
// token is revoked.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JwtMethod } from '../../../src/config/types.js';
import { JwtAuth } from '../../../src/worker/auth/jwt.js';
import type { AuthMethod } from '../../../src/worker/auth/index.js';
import { VaultClient } from '../../../src/vault/client.js';
import { runAutoAuth, type AutoAuthRun } from '../../support/auto-auth-run.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { secretForPolicy, setupJwtAuth } from '../../support/k8s-jwt-setup.js';
import { makeSigningKey, nowSeconds, signJwt, type SigningKey } from '../../support/jwt-keys.js';
import { waitFor } from '../../support/ports.js';
import { vaultApi } from '../../support/vault-setup.js';

function jwtMethod(path: string, extra: Partial<JwtMethod> = {}): JwtMethod {
  return {
    type: 'jwt', mountPath: 'auth/jwt', role: 'ci', path, removeJwtAfterReading: true, removeJwtFollowsSymlinks: false,
    jwtReadPeriodSeconds: 0.5, minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, ...extra,
  };
}

forEachBackend('auth method jwt: auto-auth against Vault with jwt_validation_pubkeys', function (kind) {
  this.timeout(30_000);
  let rs: SigningKey;
  let es: SigningKey;
  let vault: Backend;
  let dir: string;
  const runs: AutoAuthRun[] = [];
  const ciJwt = (key: SigningKey, extra: Record<string, unknown> = {}): string => {
    const now = nowSeconds();
    return signJwt(key, { iss: 'https://ci.example', sub: 'ci-runner', aud: 'vault', iat: now, nbf: now, exp: now + 600, ...extra });
  };

  before(() => {
    rs = makeSigningKey('RS256');
    es = makeSigningKey('ES256');
  });
  beforeEach(async () => {
    vault = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-jwt-'));
  });
  afterEach(async function () {
    for (const r of runs.splice(0)) await r.stop();
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${vault.logs()}\n`);
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function go(method: AuthMethod, extra: Parameters<typeof runAutoAuth>[2] = {}): AutoAuthRun {
    const r = runAutoAuth({ address: vault.serviceUrl }, method, extra);
    runs.push(r);
    return r;
  }

  it("logs in with an RS256 JWT from path, removes the file (the default), and the token has the role's policies", async () => {
    await setupJwtAuth(vault, [rs.publicPem, es.publicPem], { policies: ['ci-read'], subject: 'ci-runner' });
    await secretForPolicy(vault, 'ci-read', 'ci/deploy', { key: 'from-jwt' });
    const path = join(dir, 'jwt');
    writeFileSync(path, `${ciJwt(rs)}\n`);
    const { tokens } = go(new JwtAuth(jwtMethod(path)));
    const token = await waitFor('a token', () => tokens[0]);
    expect(existsSync(path)).to.equal(false);
    const self = await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, token);
    expect(self.json.data.policies).to.deep.equal(['ci-read', 'default']);
    expect(self.json.data.path).to.equal('auth/jwt/login');
    expect(self.json.data.display_name).to.equal('jwt-ci-runner');
    expect(self.json.data.meta).to.deep.equal({ role: 'ci' });
    expect((await vaultApi(vault, 'GET', 'secret/data/ci/deploy', undefined, token)).json.data.data).to.deep.equal({ key: 'from-jwt' });
  });

  it('logs in with an ES256 JWT and keeps the file with remove_jwt_after_reading = false', async () => {
    await setupJwtAuth(vault, [es.publicPem], { policies: ['default'] });
    const path = join(dir, 'jwt');
    writeFileSync(path, ciJwt(es));
    const { tokens } = go(new JwtAuth(jwtMethod(path, { removeJwtAfterReading: false, jwtReadPeriodSeconds: 60 })));
    const token = await waitFor('a token', () => tokens[0]);
    expect(existsSync(path)).to.equal(true);
    expect((await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, token)).json.data.display_name).to.equal('jwt-ci-runner');
  });

  it('logs in again after the token is revoked, with the JWT kept in memory (its file was removed)', async () => {
    await setupJwtAuth(vault, [rs.publicPem], { policies: ['default'], tokenTtl: '3s', tokenMaxTtl: '1h' });
    const path = join(dir, 'jwt');
    writeFileSync(path, ciJwt(rs));
    const { tokens } = go(new JwtAuth(jwtMethod(path)));
    const first = await waitFor('a token', () => tokens[0]);
    expect(existsSync(path)).to.equal(false);
    vault.clearRequests();
    await vault.revokeToken(first);
    // The renewal at 2/3 of the 3 s TTL is refused: AutoAuth logs in again.
    const second = await waitFor('a second token', () => tokens[1], 8_000);
    expect(second).not.to.equal(first);
    expect((await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, second)).status).to.equal(200);
    expect(vault.requestsTo('/v1/auth/jwt/login').map((r) => r.status)).to.deep.equal([200]);
  });

  it('logs in again with the new JWT when the JWT file is rotated on disk (enable_reauth_on_new_credentials)', async () => {
    await setupJwtAuth(vault, [rs.publicPem], { policies: ['default'], tokenTtl: '1h' });
    const path = join(dir, 'jwt');
    writeFileSync(path, ciJwt(rs, { sub: 'pipeline-1' }));
    const method = jwtMethod(path, { jwtReadPeriodSeconds: 0.2 });
    const { tokens } = go(new JwtAuth(method), { reauthOnNewCredentials: true, credentialPollMs: method.jwtReadPeriodSeconds * 1000 });
    const first = await waitFor('a token', () => tokens[0]);
    await waitFor('the first JWT file removed', () => (existsSync(path) ? undefined : true));
    // A new JWT is delivered (a CI system or the kubelet writes it); the 1 h token is still valid.
    writeFileSync(path, ciJwt(rs, { sub: 'pipeline-2' }));
    const second = await waitFor('a login with the new JWT', () => tokens[1], 10_000);
    expect(second).not.to.equal(first);
    const names = await Promise.all([first, second].map(async (t) => (await vaultApi(vault, 'GET', 'auth/token/lookup-self', undefined, t)).json.data.display_name));
    expect(names).to.deep.equal(['jwt-pipeline-1', 'jwt-pipeline-2']);
    expect(existsSync(path)).to.equal(false);
  });

  it('removes a symlinked JWT as Vault Agent does: the link, or its target with remove_jwt_follows_symlinks', async () => {
    await setupJwtAuth(vault, [rs.publicPem], { policies: ['default'] });
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      for (const follows of [false, true]) {
        const target = join(dir, `target-${follows}`);
        const link = join(dir, `link-${follows}`);
        writeFileSync(target, ciJwt(rs));
        symlinkSync(target, link);
        const result = await new JwtAuth(jwtMethod(link, { removeJwtFollowsSymlinks: follows })).login(client);
        expect(result.token).to.be.a('string').and.not.equal('');
        expect({ follows, link: existsSync(link), target: existsSync(target) }).to.deep.equal(
          follows ? { follows, link: false, target: false } : { follows, link: false, target: true },
        );
      }
    } finally {
      client.close();
    }
  });

  it('fails a login without calling Vault while no JWT was ever read', async () => {
    await setupJwtAuth(vault, [rs.publicPem]);
    vault.clearRequests();
    const client = new VaultClient({ address: vault.serviceUrl, tlsSkipVerify: false, numRetries: 0 }, 5_000);
    try {
      const missing = join(dir, 'no-such-jwt');
      const err = await new JwtAuth(jwtMethod(missing)).login(client).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.equal(`no JWT read yet from ${missing}: no such file`);
      expect(vault.requestsTo('/v1/auth/jwt/login')).to.deep.equal([]);
    } finally {
      client.close();
    }
  });

  // Conformance: the same answers from both backends (the simulator's checked against the real plugin's).
  it('answers bad logins as the real plugin does: a bad JWT, a wrong key, a wrong role, unbound aud/sub, exp and nbf', async () => {
    await setupJwtAuth(vault, [rs.publicPem, es.publicPem], { subject: 'ci-runner' });
    const other = makeSigningKey('RS256');
    const now = nowSeconds();
    const cases: Array<[string, Record<string, unknown>]> = [
      ['not a JWT', { role: 'ci', jwt: 'not-a-jwt' }],
      ['unknown key', { role: 'ci', jwt: ciJwt(other) }],
      ['wrong role', { role: 'nope', jwt: ciJwt(rs) }],
      ['no role', { jwt: ciJwt(rs) }],
      ['no jwt', { role: 'ci' }],
      ['other audience', { role: 'ci', jwt: ciJwt(rs, { aud: 'other' }) }],
      ['other subject', { role: 'ci', jwt: ciJwt(es, { sub: 'someone' }) }],
      ['expired', { role: 'ci', jwt: ciJwt(rs, { exp: now - 600 }) }],
      ['not yet valid', { role: 'ci', jwt: ciJwt(rs, { nbf: now + 600 }) }],
      ['no time claims', { role: 'ci', jwt: signJwt(rs, { sub: 'ci-runner', aud: 'vault' }) }],
    ];
    const answers: Record<string, unknown> = {};
    for (const [name, body] of cases) {
      const res = await fetch(`${vault.url}/v1/auth/jwt/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      answers[name] = { status: res.status, json: await res.json() };
    }
    const invalid = (why: string): { status: number; json: unknown } => ({ status: 400, json: { errors: [`error validating token: ${why}`] } });
    expect(answers).to.deep.equal({
      'not a JWT': invalid('error verifying token signature: go-jose/go-jose: compact JWS format must have three parts'),
      'unknown key': invalid('error verifying token signature: no known key successfully validated the token signature'),
      'wrong role': { status: 400, json: { errors: ['role "nope" could not be found'] } },
      'no role': { status: 400, json: { errors: ['missing role'] } },
      'no jwt': { status: 400, json: { errors: ['missing token'] } },
      'other audience': invalid('invalid audience (aud) claim: audience claim does not match any expected audience'),
      'other subject': invalid('invalid subject (sub) claim'),
      'expired': invalid('invalid expiration time (exp) claim: token is expired'),
      'not yet valid': invalid('invalid not before (nbf) claim: token not yet valid'),
      'no time claims': invalid('no issued at (iat), not before (nbf), or expiration time (exp) claims in token'),
    });
  });
});
