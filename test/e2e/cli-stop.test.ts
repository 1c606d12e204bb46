// Stopping what the README starts, as the README starts it: `npx vault-extproc serve` (npm runs it
// under `sh -c`, which does not pass signals on), and `npm run demo` (npm → node → vault-extproc,
// Envoy, the simulator) stopped by a signal to the PID or by a terminal's Ctrl-C (the whole group).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.js';
import { freePort, waitFor } from '../support/ports.js';
import { run } from '../support/process.js';

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv, group = false): Started {
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  return { child, output: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** PIDs of processes whose command line contains `marker` (a unique temp path): for cleanup only. */
async function pidsOf(marker: string): Promise<number[]> {
  const ps = await run('ps', ['-eo', 'pid=,args=']);
  return ps.stdout.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo')).map((l) => Number(l.trim().split(/\s+/)[0]));
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['VAULT_ADDR'];
  // The README's commands are typed at a terminal: npm behaves otherwise under CI=true (a Ctrl-C to
  // its process group no longer lets the demo print its last line), which is not what users meet.
  delete env['CI'];
  return env;
}

describe('stopping what the README starts', function () {
  this.timeout(180_000);

  it('kill <PID of `npx vault-extproc serve`> stops the server itself (npm\'s sh -c does not pass SIGTERM on)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-npx-'));
    const [listener, admin] = [await freePort(), await freePort()];
    const config = join(dir, 'npx.hcl');
    writeFileSync(config, `listener "tcp" {
  address = "127.0.0.1:${listener}"
  tls_disable = true
}
extproc {
  address = "unix://${dir}/extproc.sock"
  admin_address = "127.0.0.1:${admin}"
}
`);
    const npx = start('npx', ['vault-extproc', 'serve', '--config', config], baseEnv());
    try {
      await waitFor('healthz through npx', async () => ((await fetch(`http://127.0.0.1:${admin}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 60_000, 100);
      const servers = await pidsOf(config);
      expect(servers.length).to.be.at.least(2); // npm exec, sh -c, node
      npx.child.kill('SIGTERM');
      await npx.exited;
      await waitFor('the admin port closed', async () => (!(await listening(admin)) ? true : undefined), 10_000, 100);
      await waitFor('no process of this serve left', async () => ((await pidsOf(config)).length === 0 ? true : undefined), 10_000, 100);
      expect(npx.output()).to.include('"msg":"stopped"');
    } finally {
      npx.child.kill('SIGKILL');
      killPids(await pidsOf(config));
    }
  });

  async function demo(group: boolean): Promise<{ demo: Started; ports: Record<string, number> }> {
    const ports = { vault: await freePort(), envoy: await freePort(), admin: await freePort(), envoyAdmin: await freePort() };
    const env = {
      ...baseEnv(),
      DEMO_VAULT_PORT: String(ports.vault), DEMO_ENVOY_PORT: String(ports.envoy),
      DEMO_ADMIN_PORT: String(ports.admin), DEMO_ENVOY_ADMIN_PORT: String(ports.envoyAdmin),
    };
    const d = start('npm', ['run', 'demo'], env, group);
    await waitFor('the demo up', () => {
      if (d.output().includes('vault-extproc demo is up')) return true;
      if (d.child.exitCode !== null) throw new Error(`npm run demo exited with ${d.child.exitCode}:\n${d.output()}`);
      return undefined;
    }, 120_000, 200);
    const hello = await fetch(`http://127.0.0.1:${ports.envoy}/v1/secret/data/hello`, { headers: { 'x-vault-request': 'true' } });
    expect(hello.status).to.equal(200);
    return { demo: d, ports };
  }

  /**
   * Everything the demo started is gone, and no crash-looking dump was printed. `saysStopped`: the
   * demo's last line is there too — asked when the signal reaches the demo alone; when a Ctrl-C reaches
   * npm as well, npm may be gone before that line is out.
   */
  async function everythingStopped(d: Started, ports: Record<string, number>, saysStopped: boolean): Promise<void> {
    const code = await Promise.race([d.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 20_000))]);
    expect(code, d.output()).to.not.equal('running');
    if (saysStopped) await waitFor('"demo stopped"', () => (d.output().includes('demo stopped') ? true : undefined), 20_000, 100).catch(() => undefined);
    for (const [name, port] of Object.entries(ports)) expect(await listening(port), `${name} :${port} still listening`).to.equal(false);
    if (saysStopped) expect(d.output(), d.output()).to.include('demo stopped');
    // A stop, not a crash: no service log dumped, no "exited with".
    expect(d.output()).not.to.include('exited with');
    expect(d.output()).not.to.include('"level":');
  }

  it('SIGINT to the PID of `npm run demo` stops Envoy, vault-extproc and the simulator', async () => {
    const { demo: d, ports } = await demo(false);
    try {
      d.child.kill('SIGINT');
      await everythingStopped(d, ports, true);
    } finally {
      d.child.kill('SIGKILL');
    }
  });

  it('Ctrl-C (SIGINT to the whole process group) stops everything without a crash-looking dump', async () => {
    const { demo: d, ports } = await demo(true);
    try {
      process.kill(-d.child.pid!, 'SIGINT');
      await everythingStopped(d, ports, false);
    } finally {
      try {
        process.kill(-d.child.pid!, 'SIGKILL');
      } catch {
        // the group is gone
      }
    }
  });
});
