import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { CLI } from '../../support/paths.js';
import { run } from '../../support/process.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';

/** `vault-extproc check` on a config with one auth method block; exit code and output. */
async function check(dir: string, method: string): Promise<{ code: number | null; out: string }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.hcl`);
  writeFileSync(file, `vault { address = "https://127.0.0.1:8200" }
auto_auth {
${method}
}
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
extproc { address = "unix://${join(dir, 'extproc.sock')}" }
`);
  const r = await run(process.execPath, [CLI, 'check', '--config', file]);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('check: the cert and ldap auth methods', function () {
  this.timeout(20_000);
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-check-'));
    pki = makeTestPki();
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  });

  const cert = (files: { ca?: string; cert?: string; key?: string }): string => `  method "cert" {
    config = {
      name = "web"
      reload = true
${files.ca ? `      ca_cert = "${files.ca}"\n` : ''}${files.cert ? `      client_cert = "${files.cert}"\n` : ''}${files.key ? `      client_key = "${files.key}"\n` : ''}    }
  }`;
  const ldap = (extra: string): string => `  method "ldap" {
    config = {
${extra}
    }
  }`;

  it('cert with readable files whose key matches: valid, nothing "not implemented", serve would start (exit 0)', async () => {
    const r = await check(dir, cert({ ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey }));
    expect(r.out).not.to.include('not implemented');
    expect(r.out).to.match(/valid \(0 warning\(s\)\)\n$/);
    expect(r.code).to.equal(0);
  });

  it('cert: a key that is not the certificate\'s and a missing ca_cert are errors at their keys (exit 1)', async () => {
    const r = await check(dir, cert({ ca: join(dir, 'no-ca.pem'), cert: pki.clientCert, key: pki.serverKey }));
    expect(r.out).to.include(`error: ${dir}`);
    expect(r.out).to.match(/auto_auth > method "cert" > config > ca_cert: cannot read .*no-ca\.pem: no such file/);
    expect(r.out).to.match(/auto_auth > method "cert" > config > client_key: .*server\.key is not the key of .*client\.pem/);
    expect(r.code).to.equal(1);
  });

  it('cert: a client_cert without client_key is a warning saying what is presented instead (as Vault Agent, it is ignored)', async () => {
    const r = await check(dir, cert({ cert: pki.clientCert }));
    expect(r.out).to.match(/warning: .*client_cert: client_cert and client_key only count together .*the vault block's client certificate/);
    expect(r.code).to.equal(0);
  });

  it('ldap with its password file: valid, nothing "not implemented" (exit 0)', async () => {
    const pw = join(dir, 'ldap-password');
    writeFileSync(pw, 'secret');
    const r = await check(dir, ldap(`      username = "alice"\n      password_file_path = "${pw}"`));
    expect(r.out).not.to.include('not implemented');
    expect(r.out).to.match(/valid \(0 warning\(s\)\)\n$/);
    expect(r.code).to.equal(0);
  });

  it('ldap: a missing password file is an error when it is meant to stay (remove_password_after_reading = false), exit 1', async () => {
    const pw = join(dir, 'missing-password');
    const r = await check(dir, ldap(`      username = "alice"\n      password_file_path = "${pw}"\n      remove_password_after_reading = false`));
    expect(r.out).to.include(`auto_auth > method "ldap" > config > password_file_path: password file ${pw}: no such file`);
    expect(r.code).to.equal(1);
  });

  it('ldap: a missing password file is a warning with the default remove_password_after_reading = true (it is gone after each login)', async () => {
    const pw = join(dir, 'missing-password');
    const r = await check(dir, ldap(`      username = "alice"\n      password_file_path = "${pw}"`));
    expect(r.out).to.match(/warning: .*password_file_path: password file .* does not exist \(yet\)/);
    expect(r.code).to.equal(0);
  });

  it('ldap: username and password_file_path are required', async () => {
    const r = await check(dir, ldap('      remove_password_after_reading = true'));
    expect(r.out).to.include('auto_auth > method "ldap" > config > username: is required');
    expect(r.out).to.include('auto_auth > method "ldap" > config > password_file_path: is required');
    expect(r.code).to.equal(1);
  });

  describe('reading the method blocks (parseConfig)', () => {
    const methodOf = (block: string): { method: unknown; problems: string[] } => {
      const loaded = parseConfig(`auto_auth {\n${block}\n}\n`, 'test.hcl', {});
      return { method: loaded.config.autoAuth?.method, problems: loaded.problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`) };
    };

    it('ldap: Vault Agent\'s defaults (mount auth/ldap, remove_password_after_reading true, remove_password_follows_symlinks false)', () => {
      const { method, problems } = methodOf('method "ldap" { config = { username = "alice", password_file_path = "/run/pw" } }');
      expect(problems).to.deep.equal([]);
      expect(method).to.deep.include({ type: 'ldap', mountPath: 'auth/ldap', username: 'alice', passwordFilePath: '/run/pw', removePasswordAfterReading: true, removePasswordFollowsSymlinks: false });
    });

    it('ldap: the removal keys read as written ("false" strings too, as parseutil.ParseBool)', () => {
      const { method } = methodOf('method "ldap" {\n mount_path = "auth/corp-ldap"\n config = { username = "bob", password_file_path = "/run/pw", remove_password_after_reading = "false", remove_password_follows_symlinks = true } }');
      expect(method).to.deep.include({ mountPath: 'auth/corp-ldap', removePasswordAfterReading: false, removePasswordFollowsSymlinks: true });
    });

    it('cert: every key read; no config keys at all is valid (the vault block\'s client certificate, every role tried)', () => {
      const full = methodOf('method "cert" { config = { name = "web", ca_cert = "/ca.pem", client_cert = "/c.pem", client_key = "/c.key", reload = true } }');
      expect(full.problems).to.deep.equal([]);
      expect(full.method).to.deep.include({ type: 'cert', mountPath: 'auth/cert', name: 'web', caCert: '/ca.pem', clientCert: '/c.pem', clientKey: '/c.key', reload: true });
      const bare = methodOf('method "cert" { config = {} }');
      expect(bare.problems).to.deep.equal([]);
      expect(bare.method).to.deep.equal({ type: 'cert', mountPath: 'auth/cert', minBackoffSeconds: 1, maxBackoffSeconds: 300, exitOnError: false, reload: false });
    });

    it('an unknown key in either method is reported, as Vault does', () => {
      expect(methodOf('method "cert" { config = { nmae = "web" } }').problems).to.deep.equal(['warning: auto_auth > method "cert" > config > nmae: unknown key; it is ignored']);
      expect(methodOf('method "ldap" { config = { username = "a", password_file_path = "/p", pasword = "x" } }').problems).to.deep.equal(['warning: auto_auth > method "ldap" > config > pasword: unknown key; it is ignored']);
    });
  });
});
