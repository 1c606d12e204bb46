import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { checkTemplateFiles } from '../../../src/config/template.js';
import { Problems } from '../../../src/config/problems.js';
import { CLI } from '../../support/paths.js';
import { run } from '../../support/process.js';

const BASE = `
vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "token_file" {
    config = { token_file_path = "/tmp/t" }
  }
}
`;

function load(extra: string) {
  return parseConfig(`${BASE}\n${extra}`, 't.hcl', {});
}

function said(extra: string): string[] {
  return load(extra).problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`);
}

describe('config: template and template_config (Vault Agent 1.15.6)', () => {
  it('reads every key of a template block, with consul-template\'s names and Vault Agent\'s forms', () => {
    const { config, problems } = load(`
template {
  source = "/in.ctmpl"
  destination = "/out/x"
  create_dest_dirs = false
  perms = "0600"
  user = "1000"
  group = "1000"
  command = "systemctl reload x"
  command_timeout = "5s"
  error_on_missing_key = true
  left_delimiter = "[["
  right_delimiter = "]]"
  backup = true
  wait {
    min = "2s"
    max = "10s"
  }
}
template {
  contents = "{{ with secret \\"secret/x\\" }}{{ .Data.a }}{{ end }}"
  destination = "/out/y"
  exec {
    command = ["touch", "/tmp/z"]
    timeout = "7s"
  }
  wait = "3s"
}
template_config {
  exit_on_retry_failure = true
  static_secret_render_interval = "10m"
  max_connections_per_host = 20
  lease_renewal_threshold = 0.5
}`);
    expect(problems).to.deep.equal([]);
    expect(config.templates).to.deep.equal([
      {
        source: '/in.ctmpl', destination: '/out/x', createDestDirs: false, perms: 0o600, user: '1000', group: '1000',
        command: ['systemctl reload x'], commandTimeoutSeconds: 5, errorOnMissingKey: true, leftDelimiter: '[[', rightDelimiter: ']]',
        backup: true, wait: { minSeconds: 2, maxSeconds: 10 }, location: 'template #1',
      },
      {
        contents: '{{ with secret "secret/x" }}{{ .Data.a }}{{ end }}', destination: '/out/y', createDestDirs: true,
        command: ['touch', '/tmp/z'], commandTimeoutSeconds: 7, errorOnMissingKey: false, backup: false,
        wait: { minSeconds: 3, maxSeconds: 12 }, location: 'template #2',
      },
    ]);
    expect(config.templateSettings).to.deep.equal({ exitOnRetryFailure: true, staticSecretRenderIntervalSeconds: 600, maxConnectionsPerHost: 20, leaseRenewalThreshold: 0.5 });
  });

  it('defaults as consul-template finalizes them: create_dest_dirs true, 30 s command timeout, no perms (0644 or the file\'s own), template_config defaults', () => {
    const { config, problems } = load('template {\n  contents = "x"\n  destination = "/o"\n}');
    expect(problems).to.deep.equal([]);
    expect(config.templates![0]).to.deep.equal({ contents: 'x', destination: '/o', createDestDirs: true, command: [], commandTimeoutSeconds: 30, errorOnMissingKey: false, backup: false, location: 'template' });
    expect(config.templateSettings).to.deep.equal({ exitOnRetryFailure: false, staticSecretRenderIntervalSeconds: 300, maxConnectionsPerHost: 10, leaseRenewalThreshold: 0.9 });
  });

  it('a command string is split on commas, as Vault Agent\'s mapstructure hook splits it', () => {
    expect(load('template {\n  contents = "x"\n  destination = "/o"\n  command = "a,b"\n}').config.templates![0]!.command).to.deep.equal(['a', 'b']);
  });

  it('refuses source and contents together, and neither, in consul-template\'s words', () => {
    expect(said('template {\n  source = "/a"\n  contents = "x"\n  destination = "/o"\n}')).to.include("error: template > contents: template: cannot specify both 'source' and 'contents'");
    expect(said('template {\n  destination = "/o"\n}')).to.include("error: template: template: must specify exactly one of 'source' or 'contents'");
  });

  it('refuses a bad wait, a bad perms, a second template_config, and a template without auto_auth', () => {
    expect(said('template {\n  contents = "x"\n  destination = "/o"\n  wait {\n    min = "10s"\n    max = "2s"\n  }\n}')).to.include('error: template > wait: max must be larger than min');
    expect(said('template {\n  contents = "x"\n  destination = "/o"\n  perms = "rw"\n}').some((l) => l.startsWith('error: template > perms:'))).to.equal(true);
    expect(said('template_config {\n}\ntemplate_config {\n}')).to.include('error: template_config: at most one "template_config" block is allowed');
    const noAuth = parseConfig('vault { address = "http://127.0.0.1:8200" }\ntemplate {\n  contents = "x"\n  destination = "/o"\n}\nlistener "tcp" {\n  address = "127.0.0.1:8100"\n  tls_disable = true\n}', 't.hcl', {});
    expect(noAuth.errors.map((p) => p.message)).to.include('templates need an auto_auth block: they are rendered with its token');
  });

  it('warns that templates never render when the method wraps its login (wrap_ttl)', () => {
    const lines = parseConfig(`vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "approle" {
    wrap_ttl = "5m"
    config = {
      role_id_file_path = "/tmp/r"
      secret_id_file_path = "/tmp/s"
    }
  }
  sink "file" {
    config = { path = "/tmp/t" }
  }
}
template {
  contents = "x"
  destination = "/o"
}`, 't.hcl', {}).problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`);
    expect(lines).to.include('warning: template: wrap_ttl on the auto_auth method leaves only a wrapping token: the templates are never rendered (Vault Agent hands them the wrapped response as a token, and their reads fail)');
  });

  it('env_template and the top-level exec stay reported as not implemented', () => {
    const lines = said('env_template "FOO" {\n  contents = "x"\n}\nexec {\n  command = ["true"]\n}');
    expect(lines).to.include('warning: env_template: the env_template stanza is not implemented by vault-extproc yet; it is ignored');
    expect(lines).to.include('warning: exec: the exec stanza is not implemented by vault-extproc yet; it is ignored');
  });

  describe('the files check reports', () => {
    let dir: string;
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-tmplcfg-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function check(t: Record<string, unknown>): string[] {
      const problems = new Problems();
      checkTemplateFiles([{ destination: join(dir, 'out'), createDestDirs: true, command: [], commandTimeoutSeconds: 30, errorOnMissingKey: false, backup: false, location: 'template', ...t }], problems);
      return problems.list.map((p) => `${p.location}: ${p.message}`);
    }

    it('a source that does not exist or cannot be read', () => {
      expect(check({ source: join(dir, 'missing.ctmpl') })).to.deep.equal([`template > source: cannot read ${join(dir, 'missing.ctmpl')}: no such file`]);
      const locked = join(dir, 'locked.ctmpl');
      writeFileSync(locked, 'x');
      chmodSync(locked, 0);
      const lockedSaid = check({ source: locked });
      // root reads anything: only an unprivileged run can see the refusal
      if (process.getuid?.() !== 0) expect(lockedSaid).to.deep.equal([`template > source: cannot read ${locked}: permission denied`]);
      writeFileSync(join(dir, 'ok.ctmpl'), 'x');
      expect(check({ source: join(dir, 'ok.ctmpl') })).to.deep.equal([]);
    });

    it('a destination directory that is missing without create_dest_dirs (with it, nothing)', () => {
      const dest = join(dir, 'a', 'b', 'out');
      expect(check({ contents: 'x', destination: dest, createDestDirs: false })).to.deep.equal([`template > destination: ${dest} cannot be written: the directory ${join(dir, 'a', 'b')} does not exist and create_dest_dirs is false`]);
      expect(check({ contents: 'x', destination: dest, createDestDirs: true })).to.deep.equal([]);
      mkdirSync(join(dir, 'd'));
      expect(check({ contents: 'x', destination: join(dir, 'd') })).to.deep.equal([`template > destination: ${join(dir, 'd')} is a directory`]);
    });

    it('through the CLI: check exits 1 naming the unreadable source', async () => {
      const file = join(dir, 'c.hcl');
      writeFileSync(join(dir, 't'), 'tok');
      writeFileSync(file, `vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "token_file" {
    config = { token_file_path = "${join(dir, 't')}" }
  }
}
template {
  source = "${join(dir, 'nope.ctmpl')}"
  destination = "${join(dir, 'out')}"
}
extproc { address = "unix://${join(dir, 'x.sock')}" }
`);
      const r = await run(process.execPath, [CLI, 'check', '--config', file]);
      expect(r.stdout).to.match(/^error: .*template > source: cannot read .*nope\.ctmpl: no such file/m);
      expect(r.code).to.equal(1);
    });
  });
});
