// The sink and wrap_ttl keys of auto_auth as Vault Agent reads them (agent config parseSinks,
// parseMethod, ValidateConfig), and what `check` says about combinations that cannot work.
import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';

const listener = 'listener "tcp" {\n  address = "127.0.0.1:8100"\n  tls_disable = true\n}\n';

function load(autoAuthBody: string, rest = '') {
  const loaded = parseConfig(`auto_auth {\n${autoAuthBody}\n}\n${listener}${rest}`, 'test.hcl', {});
  return { config: loaded.config, errors: loaded.errors.map((p) => `${p.location}: ${p.message}`), warnings: loaded.warnings.map((p) => `${p.location}: ${p.message}`) };
}

const approle = (extra = '') => `method "approle" {\n  ${extra}\n  config = { role_id_file_path = "/r" secret_id_file_path = "/s" }\n}`;

describe('worker: sink and wrap_ttl configuration (Vault Agent\'s keys and rules)', () => {
  it('reads every key of a file sink: mode, uid, gid, wrap_ttl, dh_type, dh_path, derive_key, aad_env_var (read at start)', () => {
    process.env['VXP_TEST_AAD'] = 'from-the-environment';
    try {
      const { config, errors, warnings } = load(`${approle()}
sink "file" {
  wrap_ttl = "5m"
  dh_type = "curve25519"
  dh_path = "/run/consumer/dh.json"
  derive_key = true
  aad = "ignored: aad_env_var wins"
  aad_env_var = "VXP_TEST_AAD"
  config = { path = "/run/token" mode = 0600 uid = 1000 gid = "2000" }
}`);
      expect(errors).to.deep.equal([]);
      expect(warnings).to.deep.equal([]);
      expect(config.autoAuth?.sinks).to.deep.equal([{
        path: '/run/token', mode: 0o600, uid: 1000, gid: 2000, wrapTtlSeconds: 300,
        dh: { type: 'curve25519', path: '/run/consumer/dh.json', aad: 'from-the-environment', deriveKey: true },
      }]);
    } finally {
      delete process.env['VXP_TEST_AAD'];
    }
  });

  it('defaults: mode 0640, owner left alone (no uid/gid, or -1), no wrapping, no encryption', () => {
    const { config, errors } = load(`${approle()}\nsink "file" { config = { path = "/run/a" } }\nsink "file" { config = { path = "/run/b" uid = -1 gid = -1 } }`);
    expect(errors).to.deep.equal([]);
    expect(config.autoAuth?.sinks).to.deep.equal([{ path: '/run/a', mode: 0o640 }, { path: '/run/b', mode: 0o640 }]);
  });

  it('refuses what Vault Agent refuses: another dh_type, dh_type without dh_path, aad or derive_key without dh_type', () => {
    const cases: Array<[string, RegExp]> = [
      ['dh_type = "p256"\n dh_path = "/k"', /dh_type: must be "curve25519", got "p256"/],
      ['dh_type = "curve25519"', /dh_path: dh_type and dh_path must be set together/],
      ['dh_path = "/k"', /dh_type: dh_type and dh_path must be set together/],
      ['aad = "x"', /aad: additional authenticated data \(aad\) needs dh_type and dh_path/],
      ['derive_key = true', /derive_key: derive_key needs dh_type and dh_path/],
      ['config = { path = "/t" uid = "root" }', /uid: must be a whole number/],
    ];
    for (const [keys, message] of cases) {
      const { errors, config } = load(`${approle()}\nsink "file" {\n ${keys}\n ${keys.includes('config') ? '' : 'config = { path = "/t" }'}\n}`);
      expect(errors.join('\n'), keys).to.match(message);
      if (!keys.includes('config')) expect(config.autoAuth?.sinks ?? [], keys).to.deep.equal([]);
    }
  });

  it('method wrap_ttl is read (no longer "not implemented") and needs exactly one sink that does not wrap again', () => {
    const ok = load(`${approle('wrap_ttl = "2m"')}\nsink "file" { config = { path = "/t" } }`);
    expect(ok.errors).to.deep.equal([]);
    expect(ok.warnings).to.deep.equal([]);
    expect(ok.config.autoAuth?.method).to.deep.include({ type: 'approle', wrapTtlSeconds: 120 });

    expect(load(approle('wrap_ttl = 60')).errors).to.deep.equal(['auto_auth > sink: wrap_ttl on the method needs exactly one sink (the wrapping token can be unwrapped once), found 0']);
    expect(load(`${approle('wrap_ttl = 60')}\nsink "file" { config = { path = "/a" } }\nsink "file" { config = { path = "/b" } }`).errors.join('\n')).to.include('found 2');
    expect(load(`${approle('wrap_ttl = 60')}\nsink "file" {\n wrap_ttl = 60\n config = { path = "/a" } }`).errors).to.deep.equal(['auto_auth > sink: wrap_ttl is set on both the method and the sink; set it on one of them']);
  });

  it('method wrap_ttl does not combine with use_auto_auth_token, cache_static_secrets or token_file', () => {
    const sink = 'sink "file" { config = { path = "/t" } }';
    for (const use of ['true', '"force"']) {
      expect(load(`${approle('wrap_ttl = 60')}\n${sink}`, `api_proxy { use_auto_auth_token = ${use} }\n`).errors.join('\n'))
        .to.match(/^api_proxy: use_auto_auth_token = .* cannot work with wrap_ttl on the auto_auth method/);
    }
    expect(load(`${approle('wrap_ttl = 60')}\n${sink}`, 'cache { cache_static_secrets = true }\n').errors.join('\n'))
      .to.include('cache: cache_static_secrets = true needs the auto-auth token, but wrap_ttl on the auto_auth method leaves only a wrapping token');
    expect(load(`method "token_file" {\n wrap_ttl = 60\n config = { token_file_path = "/t" }\n}\n${sink}`).errors.join('\n'))
      .to.include('token_file does not log in');
    // The same configs without wrap_ttl are fine.
    expect(load(`${approle()}\n${sink}`, 'api_proxy { use_auto_auth_token = true }\ncache { cache_static_secrets = true }\n').errors).to.deep.equal([]);
  });
});
