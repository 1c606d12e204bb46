// The command line as a user meets it (the built CLI, spawned): help and version, usage mistakes,
// and every config `serve` refuses is reported by `check` first, with its own exit code.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from '../../support/paths.js';
import { freePort, waitFor } from '../../support/ports.js';
import { Proc } from '../../support/process.js';
import { makeTestPki } from '../../support/tls.js';

const EXIT = { ok: 0, config: 1, usage: 2, listen: 3 };

/** Runs the CLI to its end; one still running after 15 s (a serve that should have refused) is killed and says so. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env, ...env };
  delete base['VAULT_ADDR'];
  delete base['npm_command'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: base, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => {
      stderr += '(still running after 15 s: killed)';
      child.kill('SIGKILL');
    }, 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

/** A problem line without where in the file it is (test/unit/config/hcl-parse.test.ts checks those). */
function withoutPosition(line: string): string {
  return line.replace(/ \(line \d+, column \d+\)$/, '');
}

describe('CLI: help, version and usage mistakes', function () {
  this.timeout(20_000);

  it('--help and -h print the commands and exit codes on stdout, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli([flag]);
      expect(r.code).to.equal(EXIT.ok);
      expect(r.stdout).to.include('usage: vault-extproc <command> [options]');
      for (const command of ['serve', 'check', 'envoy-config']) expect(r.stdout).to.match(new RegExp(`^  ${command} `, 'm'));
      expect(r.stdout).to.include('exit codes: 0 ok, 1 config refused, 2 usage, 3 cannot listen, 70 internal error');
      expect(r.stderr).to.equal('');
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).to.equal(EXIT.ok);
    expect(r.stdout).to.equal(`vault-extproc ${version}\n`);
  });

  it('each command has its own help: serve --help, check -h, help envoy-config (exit 0)', async () => {
    const serve = await cli(['serve', '--help']);
    expect(serve.code).to.equal(EXIT.ok);
    expect(serve.stdout).to.match(/^usage: vault-extproc serve --config FILE \[--log-level LEVEL\]/);
    expect(serve.stdout).to.include('--log-level LEVEL    trace, debug, info, warn, error');
    const check = await cli(['check', '-h']);
    expect(check.code).to.equal(EXIT.ok);
    expect(check.stdout).to.match(/^usage: vault-extproc check --config FILE \[--config-only\]/);
    const envoy = await cli(['help', 'envoy-config']);
    expect(envoy.code).to.equal(EXIT.ok);
    expect(envoy.stdout).to.include('--envoy-admin-address HOST:PORT');
  });

  it('an unknown option, an unknown command, a missing --config, a stray argument: what is wrong, exit 2, never "unexpected error"', async () => {
    const cases: Array<[string[], string]> = [
      [['serve', '--config', 'x.hcl', '--bogus'], "vault-extproc: serve: Unknown option '--bogus'\nrun \"vault-extproc serve --help\" for usage\n"],
      [['frob'], 'vault-extproc: unknown command "frob"\nrun "vault-extproc --help" for usage\n'],
      [['check'], 'vault-extproc: check: --config FILE is required\nrun "vault-extproc check --help" for usage\n'],
      [['check', '--config', 'x.hcl', 'extra'], 'vault-extproc: check: unexpected argument "extra"\nrun "vault-extproc check --help" for usage\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await cli(args);
      expect(r.stderr, args.join(' ')).to.equal(stderr);
      expect(r.code, args.join(' ')).to.equal(EXIT.usage);
    }
    const bare = await cli([]);
    expect(bare.code).to.equal(EXIT.usage);
    expect(bare.stderr).to.include('usage: vault-extproc <command> [options]');
  });

  it('serve --log-level loud (or VAULT_EXTPROC_LOG_LEVEL=loud): the levels, exit 2, before anything starts', async () => {
    const flag = await cli(['serve', '--config', 'x.hcl', '--log-level', 'loud']);
    expect(flag.code).to.equal(EXIT.usage);
    expect(flag.stderr).to.include('vault-extproc: serve: --log-level must be one of trace, debug, info, warn, error, got "loud"');
    const env = await cli(['serve', '--config', 'x.hcl'], { VAULT_EXTPROC_LOG_LEVEL: 'loud' });
    expect(env.code).to.equal(EXIT.usage);
    expect(env.stderr).to.include('VAULT_EXTPROC_LOG_LEVEL must be one of trace, debug, info, warn, error, got "loud"');
  });

  it('a config file that cannot be read: exit 1, says which', async () => {
    const r = await cli(['check', '--config', '/nonexistent/vault.hcl']);
    expect(r.code).to.equal(EXIT.config);
    expect(r.stderr).to.equal('vault-extproc: cannot read config file /nonexistent/vault.hcl: no such file\n');
  });
});

describe('CLI: check reports everything serve refuses; serve refuses the same', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-cli-'));
  });

  function config(name: string, hcl: string): string {
    const file = join(dir, name);
    writeFileSync(file, hcl);
    return file;
  }

  async function ports(): Promise<{ listener: number; extproc: number; admin: number }> {
    return { listener: await freePort(), extproc: await freePort(), admin: await freePort() };
  }

  function servable(p: { listener: number; extproc: number; admin: number }, extra = ''): string {
    return `listener "tcp" {
  address = "127.0.0.1:${p.listener}"
  tls_disable = true
}
extproc {
  address = "127.0.0.1:${p.extproc}"
  admin_address = "127.0.0.1:${p.admin}"
  tls_disable = true
}
${extra}`;
  }

  /** check's error lines and exit code, and serve's: the same problems, both exit 1, serve never listening. */
  async function bothRefuse(file: string): Promise<string[]> {
    const check = await cli(['check', '--config', file]);
    const serve = await cli(['serve', '--config', file]);
    expect(check.code, check.stdout).to.equal(EXIT.config);
    expect(check.stdout).to.match(/serve refuses this config\n$/);
    expect(serve.code, serve.stderr).to.equal(EXIT.config);
    expect(serve.stderr).to.match(/; not starting\n$/);
    expect(serve.stdout).to.equal('');
    expect(lines(serve.stderr, 'error:')).to.deep.equal(lines(check.stdout, 'error:'));
    return lines(check.stdout, 'error:').map((l) => withoutPosition(l.replace(`error: ${file}: `, '')));
  }

  it('a config serve accepts: check exit 0, serve starts, /healthz 200, SIGTERM stops it with exit 0', async () => {
    const p = await ports();
    const file = config('ok.hcl', servable(p));
    const check = await cli(['check', '--config', file]);
    expect(check.stdout).to.match(/valid \(\d+ warning\(s\)\)\n$/);
    expect(check.code).to.equal(EXIT.ok);
    const env = { ...process.env };
    delete env['npm_command'];
    const serve = new Proc('serve', process.execPath, [CLI, 'serve', '--config', file], env);
    try {
      await waitFor('healthz', async () => ((await fetch(`http://127.0.0.1:${p.admin}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 10_000);
      serve.signal('SIGTERM');
      expect(await serve.exited).to.equal(0);
      expect(serve.text).to.include('"msg":"stopped"');
    } finally {
      await serve.stop();
    }
  });

  it('extproc.address equal to admin_address', async () => {
    const p = await ports();
    const file = config('same.hcl', servable({ ...p, admin: p.extproc }));
    expect(await bothRefuse(file)).to.deep.equal([
      `extproc > admin_address: 127.0.0.1:${p.extproc} is also extproc > address (127.0.0.1:${p.extproc}): two servers cannot listen on one address`,
    ]);
  });

  it('an Envoy listener on the admin port, and two listeners on one port (0.0.0.0 overlaps 127.0.0.1)', async () => {
    const p = await ports();
    const file = config('listeners.hcl', `${servable(p)}
listener "tcp" {
  address = "127.0.0.1:${p.admin}"
  tls_disable = true
}
listener "tcp" {
  address = "0.0.0.0:${p.listener}"
  tls_disable = true
}
`);
    expect(await bothRefuse(file)).to.deep.equal([
      `listener #2 > address: 127.0.0.1:${p.admin} is also extproc > admin_address (127.0.0.1:${p.admin}): two servers cannot listen on one address`,
      `listener #3 > address: 0.0.0.0:${p.listener} is also listener #1 > address (127.0.0.1:${p.listener}): two servers cannot listen on one address`,
    ]);
  });

  it("an empty config, or one with only a vault block: Vault Proxy's words; serve starts nothing (no log line)", async () => {
    for (const [name, hcl] of [['empty.hcl', ''], ['vault-only.hcl', 'vault { address = "http://127.0.0.1:8200" }\n']] as const) {
      expect(await bothRefuse(config(name, hcl))).to.deep.equal(['no auto_auth, cache, or listener block found in config']);
    }
  });

  it('files the config names: missing or unusable TLS files, credential files, sink and pid_file directories, each with its location', async () => {
    const p = await ports();
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'not-pem'), 'hello\n');
    mkdirSync(join(dir, 'a-dir'));
    const file = config('files.hcl', `${servable(p)}
vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "${dir}/missing-ca.pem"
  ca_path = "${dir}/a-dir"
  client_cert = "${dir}/not-pem"
  client_key = "${dir}/not-pem"
}
pid_file = "${dir}/no-dir/pid"
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${dir}/empty"
      secret_id_file_path = "${dir}/a-dir"
    }
  }
  sink "file" { config = { path = "${dir}/no-dir/token" } }
  sink "file" { config = { path = "${dir}/a-dir" } }
}
api_proxy { use_auto_auth_token = true }
`);
    const errors = await bothRefuse(file);
    expect(errors).to.have.members([
      `vault > ca_cert: cannot read ${dir}/missing-ca.pem: no such file`,
      `vault > ca_path: ${dir}/a-dir holds no certificate file`,
      `vault > client_key: ${dir}/not-pem is not the key of the client certificate ${dir}/not-pem, or either is not PEM: error:0480006C:PEM routines::no start line`,
      `auto_auth > method "approle" > config > role_id_file_path: role_id file ${dir}/empty: is empty`,
      `auto_auth > method "approle" > config > secret_id_file_path: secret_id file ${dir}/a-dir: is a directory`,
      `auto_auth > sink "file" #1 > config > path: the token cannot be written to ${dir}/no-dir/token: the directory ${dir}/no-dir does not exist`,
      `auto_auth > sink "file" #2 > config > path: the token cannot be written to ${dir}/a-dir: it is a directory`,
      `pid_file: the PID cannot be written to ${dir}/no-dir/pid: the directory ${dir}/no-dir does not exist`,
    ]);
    expect(errors).to.have.length(8);
  });

  it("the ext_proc server's own TLS files (TCP with mutual TLS): a missing client CA, a key that is not the certificate's", async () => {
    const pki = makeTestPki();
    const p = await ports();
    const file = config('extproc-tls.hcl', `listener "tcp" {
  address = "127.0.0.1:${p.listener}"
  tls_disable = true
}
extproc {
  address = "127.0.0.1:${p.extproc}"
  admin_address = "127.0.0.1:${p.admin}"
  tls_cert_file = "${pki.serverCert}"
  tls_key_file = "${pki.clientKey}"
  tls_client_ca_file = "${dir}/no-ca.pem"
  envoy_client_cert_file = "/etc/envoy/client.pem"
  envoy_client_key_file = "/etc/envoy/client.key"
}
`);
    const errors = await bothRefuse(file);
    expect(errors).to.have.length(2);
    expect(errors[0]).to.equal(`extproc > tls_client_ca_file: cannot read ${dir}/no-ca.pem: no such file`);
    expect(errors[1]).to.match(new RegExp(`^extproc > tls_key_file: ${pki.clientKey} is not the key of ${pki.serverCert}: .*key values mismatch`));
  });

  it("the ext_proc unix socket's directory cannot be created (a file is in the way)", async () => {
    const admin = await freePort();
    writeFileSync(join(dir, 'a-file'), 'x');
    const file = config('socket.hcl', `listener "tcp" {
  address = "127.0.0.1:${await freePort()}"
  tls_disable = true
}
extproc {
  address = "unix://${dir}/a-file/run/extproc.sock"
  admin_address = "127.0.0.1:${admin}"
}
`);
    expect(await bothRefuse(file)).to.deep.equal([
      `extproc > address: the ext_proc socket ${dir}/a-file/run/extproc.sock cannot be created: ${dir}/a-file is not a directory`,
    ]);
  });

  it('a missing ca_cert alone: serve refuses to start (before, the worker thread died while /healthz said 200)', async () => {
    const p = await ports();
    writeFileSync(join(dir, 'token'), 'hvs.anything\n');
    const file = config('ca.hcl', `${servable(p)}
vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "${dir}/gone.pem"
}
auto_auth {
  method "token_file" { config = { token_file_path = "${dir}/token" } }
}
api_proxy { use_auto_auth_token = true }
`);
    expect(await bothRefuse(file)).to.deep.equal([`vault > ca_cert: cannot read ${dir}/gone.pem: no such file`]);
    expect(await fetch(`http://127.0.0.1:${p.admin}/healthz`).catch(() => 'refused')).to.equal('refused');
  });

  it('a missing secret_id file: a warning when it is removed after reading (the default), an error when it is meant to stay', async () => {
    const p = await ports();
    writeFileSync(join(dir, 'role_id'), 'role\n');
    const approle = (remove: boolean): string => `${servable(p)}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${dir}/role_id"
      secret_id_file_path = "${dir}/secret_id"
      remove_secret_id_file_after_reading = ${remove}
    }
  }
}
api_proxy { use_auto_auth_token = true }
`;
    const consumed = await cli(['check', '--config', config('consumed.hcl', approle(true))]);
    expect(consumed.code).to.equal(EXIT.ok);
    expect(lines(consumed.stdout, 'warning:').filter((l) => l.includes('secret_id_file_path')).map(withoutPosition)).to.deep.equal([
      `warning: ${dir}/consumed.hcl: auto_auth > method "approle" > config > secret_id_file_path: secret_id file ${dir}/secret_id does not exist (yet): the worker logs in once it appears. It is removed after reading (remove_secret_id_file_after_reading = true, as in Vault Agent), so each start needs a new one`,
    ]);
    expect(await bothRefuse(config('kept.hcl', approle(false)))).to.deep.equal([
      `auto_auth > method "approle" > config > secret_id_file_path: secret_id file ${dir}/secret_id: no such file (remove_secret_id_file_after_reading = false: the file is meant to stay)`,
    ]);
  });

  it('--config-only checks the config alone (for a config written for another machine)', async () => {
    const p = await ports();
    const file = config('elsewhere.hcl', `${servable(p)}
auto_auth {
  method "approle" { config = { role_id_file_path = "/run/secrets/role_id" } }
  sink "file" { config = { path = "/nonexistent/dir/token" } }
}
`);
    const full = await cli(['check', '--config', file]);
    expect(full.code).to.equal(EXIT.config);
    expect(lines(full.stdout, 'error:')).to.have.length(2);
    const only = await cli(['check', '--config-only', '--config', file]);
    expect(only.code).to.equal(EXIT.ok);
    expect(lines(only.stdout, 'error:')).to.deep.equal([]);
  });

  it('a port in use: serve names the address, exit 3, not "unexpected error"', async () => {
    for (const which of ['extproc', 'admin'] as const) {
      const p = await ports();
      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen(p[which], '127.0.0.1', () => r()));
      try {
        const r = await cli(['serve', '--config', config(`busy-${which}.hcl`, servable(p))]);
        expect(r.code, r.stderr).to.equal(EXIT.listen);
        expect(r.stderr).to.include(`vault-extproc: cannot listen on 127.0.0.1:${p[which]}: address already in use\n`);
        expect(r.stderr).not.to.include('unexpected error');
      } finally {
        await new Promise<void>((r) => squatter.close(() => r()));
      }
    }
  });
});

describe('CLI: usable TLS files pass', () => {
  it('check accepts a readable CA and a matching client certificate and key (the control of the TLS file checks)', async () => {
    const pki = makeTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'vxp-cli-'));
    const p = { listener: await freePort(), extproc: await freePort(), admin: await freePort() };
    const file = join(dir, 'tls.hcl');
    writeFileSync(file, `listener "tcp" {
  address = "127.0.0.1:${p.listener}"
  tls_disable = true
}
extproc {
  address = "127.0.0.1:${p.extproc}"
  admin_address = "127.0.0.1:${p.admin}"
  tls_disable = true
}
vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "${pki.caCert}"
  client_cert = "${pki.clientCert}"
  client_key = "${pki.clientKey}"
}
`);
    const r = await cli(['check', '--config', file]);
    expect(lines(r.stdout, 'error:')).to.deep.equal([]);
    expect(r.code).to.equal(EXIT.ok);
  });
});
