// log_level, log_format, log_file and disable_idle_connections / disable_keep_alives read with Vault's
// values and Vault's words; what is not applied says so.
import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';

const LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:8100"\n  tls_disable = true\n}\n';

function load(top: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = parseConfig(`${top}\n${LISTENER}`, 't.hcl', env);
  return { loaded, problems: loaded.problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`) };
}

describe('config: process keys (logging, connection switches)', () => {
  for (const [written, level] of [['trace', 'trace'], ['debug', 'debug'], ['notice', 'info'], ['INFO', 'info'], ['warning', 'warn'], ['err', 'error']] as const) {
    it(`log_level = "${written}" is pino's ${level}, silently (Vault's logging.ParseLogLevel names)`, () => {
      const { loaded, problems } = load(`log_level = "${written}"`);
      expect(loaded.process.logLevel).to.equal(level);
      expect(problems).to.deep.equal([]);
    });
  }

  it('an unknown log level or log format is refused with Vault\'s words', () => {
    expect(load('log_level = "loud"').problems).to.deep.equal(['error: log_level: unknown log level: loud (trace, debug, info, warn, error)']);
    expect(load('log_format = "xml"').problems).to.deep.equal(['error: log_format: unknown log format: xml ("standard" or "json")']);
  });

  it('log_format = "json" works silently; "standard" says that the log stays JSON; log_file says that nothing is written to it', () => {
    expect(load('log_format = "json"').problems).to.deep.equal([]);
    expect(load('log_format = "standard"').problems).to.deep.equal(['warning: log_format: differs: vault-extproc always writes JSON lines (one object per line, pino); "standard" is read as "json"']);
    expect(load('log_file = "/var/log/vx.log"').problems[0]).to.match(/^warning: log_file: not implemented: vault-extproc logs to standard output only/);
  });

  it('disable_idle_connections / disable_keep_alives: Vault Agent\'s subsystem names, an unknown one refused as Vault refuses it', () => {
    const ok = load('disable_idle_connections = ["auto-auth", "Caching", ""]');
    expect(ok.loaded.process.disableIdleConnections).to.deep.equal(['auto-auth', 'caching']);
    expect(ok.loaded.errors).to.deep.equal([]);
    expect(ok.problems[0]).to.match(/^warning: disable_idle_connections: differs: .*auto-auth, caching not applied$/);
    expect(load('disable_keep_alives = ["everything"]').problems).to.include('error: disable_keep_alives: unknown disable_keep_alives value: everything (auto-auth, caching, proxying, templating)');
  });

  it('VAULT_AGENT_DISABLE_KEEP_ALIVES replaces the file\'s list, as in Vault, and is named as a setting from the environment', () => {
    const { loaded } = load('disable_keep_alives = ["auto-auth"]', { VAULT_AGENT_DISABLE_KEEP_ALIVES: 'proxying,caching' });
    expect(loaded.process.disableKeepAlives).to.deep.equal(['proxying', 'caching']);
    expect(loaded.envOverrides).to.deep.equal([{ variable: 'VAULT_AGENT_DISABLE_KEEP_ALIVES', setting: 'disable_keep_alives', value: 'proxying,caching', replaced: '["auto-auth"]' }]);
  });

  it('Vault\'s server-only keys (seal, disable_mlock, …) are not applicable, with the reason, never "unknown key"', () => {
    const { problems } = load('disable_mlock = true\nseal "transit" {\n  address = "x"\n}');
    expect(problems).to.have.length(2);
    for (const p of problems) expect(p).to.match(/^warning: (disable_mlock|seal): not applicable: /);
  });
});
