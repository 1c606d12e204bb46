// The kubernetes and jwt methods' config keys and defaults, as Vault Agent 1.15 reads them.
import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';

function load(method: string, config: string): { method: unknown; problems: string[] } {
  const loaded = parseConfig(`
vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "${method}" {
    config = { ${config} }
  }
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`, 'test.hcl', {});
  return { method: loaded.config.autoAuth?.method, problems: loaded.problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`) };
}

describe('config: kubernetes and jwt auto-auth methods', () => {
  it('kubernetes: role, and token_path defaulting to the pod service-account token', () => {
    expect(load('kubernetes', 'role = "app"').method).to.include({
      type: 'kubernetes', mountPath: 'auth/kubernetes', role: 'app', tokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    expect(load('kubernetes', 'role = "app", token_path = "/run/sa/token"').method).to.include({ tokenPath: '/run/sa/token' });
  });

  it('kubernetes: role is required', () => {
    const r = load('kubernetes', 'token_path = "/t"');
    expect(r.problems).to.deep.equal(['error: auto_auth > method "kubernetes" > config > role: is required']);
  });

  it('jwt: the file is removed after reading, symlinks are not followed, and the read period is 0.5 s by default', () => {
    expect(load('jwt', 'path = "/j", role = "ci"').method).to.include({
      type: 'jwt', mountPath: 'auth/jwt', path: '/j', role: 'ci', removeJwtAfterReading: true, removeJwtFollowsSymlinks: false, jwtReadPeriodSeconds: 0.5,
    });
  });

  it('jwt: a kept file is looked at every minute by default; jwt_read_period and the booleans as written', () => {
    expect(load('jwt', 'path = "/j", role = "ci", remove_jwt_after_reading = false').method).to.include({ removeJwtAfterReading: false, jwtReadPeriodSeconds: 60 });
    expect(load('jwt', 'path = "/j", role = "ci", remove_jwt_follows_symlinks = "true", jwt_read_period = "10s"').method)
      .to.include({ removeJwtFollowsSymlinks: true, jwtReadPeriodSeconds: 10 });
  });

  it('jwt: path and role are required; a bad boolean or duration is reported', () => {
    expect(load('jwt', '').problems).to.deep.equal([
      'error: auto_auth > method "jwt" > config > path: is required',
      'error: auto_auth > method "jwt" > config > role: is required',
    ]);
    expect(load('jwt', 'path = "/j", role = "ci", remove_jwt_after_reading = "maybe", jwt_read_period = "soon"').problems).to.deep.equal([
      'error: auto_auth > method "jwt" > config > remove_jwt_after_reading: must be true or false, got "maybe"',
      'error: auto_auth > method "jwt" > config > jwt_read_period: must be a duration such as "30s", "5m" or "1h30m", got "soon"',
    ]);
  });
});
