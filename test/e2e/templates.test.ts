// Vault Agent's `template` stanza rendered by vault-extproc's worker, through real Envoy (where a
// client reads) and the built CLI, on both backends:
// - a KV write made directly in Vault re-renders the destination within 1 s (KV events → the static
//   cache's refetch → the template renders again from the cache);
// - a template's read of a cacheable KV path is a static-cache hit once the cache holds it (counted
//   in the metrics), and the auto-auth token's proof of access serves nobody else through Envoy;
// - `command` runs once per change; exit_after_auth renders every template once and exits 0;
// - a template error: exit 1 with exit_on_retry_failure, else retried until it renders.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_VAULT_BINARY, forEachBackend, startBackend, type Backend, isReal } from '../support/backend.js';
import { sleep, waitFor } from '../support/ports.js';
import { showLogsOnFailure, startStack, untilCacheWatching, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { exitWithin, fileBecomes, metricValue, readOr, startServe } from './templates-helpers.js';
import { Proc } from '../support/process.js';

/** The auto-auth token's policy: read the template secrets and subscribe to KV events (Vault Proxy's documented policy). */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const READER = 'path "secret/data/tmpl/*" { capabilities = ["read"] }';

async function kvWrite(v: Backend, path: string, data: Record<string, string>): Promise<void> {
  const r = await vaultApi(v, 'POST', `secret/data/${path}`, { data });
  if (r.status !== 200) throw new Error(`writing secret/data/${path}: ${r.status} ${JSON.stringify(r.json)}`);
}

function template(source: string, destination: string, extra = ''): string {
  return `template {
  contents = ${JSON.stringify(source)}
  destination = "${destination}"
${extra}
}
`;
}

forEachBackend('e2e: templates rendered by the worker', function (kind) {
  this.timeout(90_000);
  let vault: Backend;
  const stacks: Stack[] = [];
  const procs: Proc[] = [];
  showLogsOnFailure(() => stacks, () => vault);
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`\n--- ${p.name} ---\n${p.text}\n`);
  });

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'tmpl-worker', WORKER);
    await writePolicy(vault, 'tmpl-reader', READER);
  });
  after(async () => {
    await Promise.all([...stacks.map((s) => s.stop()), ...procs.map((p) => p.stop())]);
    await vault.close();
  });

  describe('with the static cache: KV events re-render, reads come from the cache', () => {
    let stack: Stack;
    let out: string;
    let ran: string;
    before(async () => {
      await kvWrite(vault, 'tmpl/a', { v: 'one' });
      const creds = await setupAppRole(vault, { role: 'tmpl-worker', policies: ['tmpl-worker'] });
      stack = await startStack({
        vault,
        hcl: ({ dir }) => {
          out = join(dir, 'out', 'a.txt');
          ran = join(dir, 'ran.log');
          return `${appRoleAutoAuth(dir, creds)}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
}
${template('v={{ with secret "secret/data/tmpl/a" }}{{ .Data.data.v }}{{ end }}\n', out, `  command = "echo changed >> ${join(dir, 'ran.log')}"`)}`;
        },
      });
      stacks.push(stack);
      await untilCacheWatching(stack, kind);
    });

    it('renders at start; a KV write made directly in Vault re-renders the destination within 1 s (three writes), the command runs once per change', async () => {
      await fileBecomes(out, (t) => t === 'v=one\n', 10_000);
      // The template's read became the auto-auth token's proof of access in the static cache (its entry
      // shows in the cache gauge): from here the cache's maintainer refetches it on KV events.
      await waitFor('the template read in the static cache', async () => ((await metricValue(stack.adminUrl, 'vault_extproc_cache_entries', 'cache="static"')) >= 1 ? true : undefined), 10_000);
      await sleep(300); // the worker's first lookup of the auto-auth token
      const latencies: number[] = [];
      for (const v of ['two', 'three', 'four']) {
        await kvWrite(vault, 'tmpl/a', { v });
        const { ms } = await fileBecomes(out, (t) => t === `v=${v}\n`, 1_000);
        latencies.push(Math.round(ms));
      }
      process.stdout.write(`      [${kind}] KV write → destination re-rendered: ${latencies.join(', ')} ms\n`);
      // Initial render + three changes: four runs of the command, one per change.
      await sleep(300);
      expect(readOr(ran).split('\n').filter(Boolean)).to.have.length(4);
      expect(statSync(out).mode & 0o777).to.equal(0o644);
      expect(await metricValue(stack.adminUrl, 'vault_extproc_template_renders_total', 'outcome="written"')).to.equal(4);
      expect(await metricValue(stack.adminUrl, 'vault_extproc_template_commands_total', 'outcome="ok"')).to.equal(4);
    });

    it('a re-render after a change reads the secret from the static cache (a hit in vault_agent_cache_hit), not from Vault', async () => {
      await fileBecomes(out, (t) => t.startsWith('v='), 10_000);
      const hitsBefore = await metricValue(stack.adminUrl, 'vault_agent_cache_hit');
      vault.clearRequests();
      await kvWrite(vault, 'tmpl/a', { v: 'five' });
      await fileBecomes(out, (t) => t === 'v=five\n', 1_000);
      await sleep(200);
      expect(await metricValue(stack.adminUrl, 'vault_agent_cache_hit')).to.be.greaterThan(hitsBefore);
      // Vault saw the write and the maintainer's one refetch: the render itself did not read it again.
      const reads = vault.requests.filter((r) => r.path === '/v1/secret/data/tmpl/a' && r.method === 'GET');
      expect(reads).to.have.length(1);
    });

    it('through Envoy, the template\'s proof of access serves no other token: a reader\'s first read is a MISS, its second a HIT; a token without read access gets 403', async () => {
      await fileBecomes(out, (t) => t.startsWith('v='), 10_000);
      const reader = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['tmpl-reader'], ttl: '1h' })).json.auth.client_token as string;
      const stranger = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['default'], ttl: '1h' })).json.auth.client_token as string;
      const get = async (token: string): Promise<{ status: number; cache: string | null }> => {
        const res = await fetch(`${stack.url}/v1/secret/data/tmpl/a`, { headers: { 'x-vault-token': token } });
        await res.text();
        return { status: res.status, cache: res.headers.get('x-cache') };
      };
      expect(await get(stranger)).to.deep.equal({ status: 403, cache: null });
      expect(await get(reader)).to.deep.equal({ status: 200, cache: 'MISS' });
      expect(await get(reader)).to.deep.equal({ status: 200, cache: 'HIT' });
      expect(await get(stranger)).to.deep.equal({ status: 403, cache: null });
    });
  });

  describe('exit_after_auth and template errors', () => {
    let creds: { roleId: string; secretId: string };
    before(async () => {
      await kvWrite(vault, 'tmpl/once', { user: 'alice', pass: 'pw1' });
      creds = await setupAppRole(vault, { role: 'tmpl-once', policies: ['tmpl-worker'] });
    });

    async function serve(dir: string, body: string): Promise<Proc> {
      const { proc } = await startServe(dir, `vault { address = "${vault.serviceUrl}" }
${appRoleAutoAuth(dir, creds)}
${body}`);
      procs.push(proc);
      return proc;
    }

    it('exit_after_auth = true: every template rendered once (with perms and the command), then exit 0', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-once-'));
      const proc = await serve(dir, `exit_after_auth = true
${template('user={{ with secret "secret/data/tmpl/once" }}{{ .Data.data.user }}{{ end }}\n', join(dir, 'a', 'user.txt'), `  perms = "0600"\n  command = "echo ran >> ${join(dir, 'ran.log')}"`)}
${template('pass={{ with secret "secret/data/tmpl/once" }}{{ .Data.data.pass }}{{ end }}\n', join(dir, 'pass.txt'))}`);
      expect(await exitWithin(proc, 20_000)).to.equal(0);
      expect(readFileSync(join(dir, 'a', 'user.txt'), 'utf8')).to.equal('user=alice\n');
      expect(statSync(join(dir, 'a', 'user.txt')).mode & 0o777).to.equal(0o600);
      expect(readFileSync(join(dir, 'pass.txt'), 'utf8')).to.equal('pass=pw1\n');
      expect(readFileSync(join(dir, 'ran.log'), 'utf8')).to.equal('ran\n');
    });

    it('without the static cache, a KV secret is read again every static_secret_render_interval (× 0.9 ± 0.05): a change shows within one', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-interval-'));
      await kvWrite(vault, 'tmpl/interval', { v: 'old' });
      const out = join(dir, 'i.txt');
      await serve(dir, `template_config {
  static_secret_render_interval = "2s"
}
${template('{{ with secret "secret/data/tmpl/interval" }}{{ .Data.data.v }}{{ end }}', out)}`);
      await fileBecomes(out, (t) => t === 'old', 20_000);
      await kvWrite(vault, 'tmpl/interval', { v: 'new' });
      const { ms } = await fileBecomes(out, (t) => t === 'new', 2_500);
      process.stdout.write(`      [${kind}] re-read after the interval: the change showed ${Math.round(ms)} ms after the write\n`);
    });

    it('a template error (error_on_missing_key) with exit_on_retry_failure = true: exit 1 at once, nothing written', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-fail-'));
      const proc = await serve(dir, `template_config {
  exit_on_retry_failure = true
}
${template('{{ with secret "secret/data/tmpl/once" }}{{ .Data.data.nope }}{{ end }}', join(dir, 'x.txt'), '  error_on_missing_key = true')}`);
      expect(await exitWithin(proc, 20_000)).to.equal(1);
      expect(readOr(join(dir, 'x.txt'), 'absent')).to.equal('absent');
      expect(proc.jsonLines.some((l) => String(l['err']).includes('map has no entry for key "nope"'))).to.equal(true);
    });

    if (isReal(kind)) {
      it('the oracle: real vault agent 1.15.6 with the same template error exits 1 with exit_on_retry_failure, and runs on without it', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-agent-'));
        const body = (exit: boolean): string => `vault { address = "${vault.serviceUrl}" }
${appRoleAutoAuth(dir, creds)}
template_config {
  exit_on_retry_failure = ${exit}
}
${template('{{ with secret "secret/data/tmpl/once" }}{{ .Data.data.nope }}{{ end }}', join(dir, 'x.txt'), '  error_on_missing_key = true')}`;
        const agent = async (exit: boolean): Promise<number | null | 'running'> => {
          const file = join(dir, `agent-${exit}.hcl`);
          writeFileSync(file, body(exit));
          const p = new Proc(`vault agent (exit_on_retry_failure = ${exit})`, REAL_VAULT_BINARY, ['agent', `-config=${file}`], { PATH: process.env['PATH'] ?? '', HOME: dir });
          // (not in `procs`: its hot retry loop would flood a failure report)
          const code = await exitWithin(p, 8_000);
          await p.stop();
          return code;
        };
        const ours = async (exit: boolean): Promise<number | null | 'running'> => {
          const sub = mkdtempSync(join(dir, 'ours-'));
          const { proc: p } = await startServe(sub, body(exit).replace(join(dir, 'x.txt'), join(sub, 'x.txt')));
          procs.push(p);
          const code = await exitWithin(p, 8_000);
          await p.stop();
          return code;
        };
        expect({ agent: await agent(true), ours: await ours(true) }).to.deep.equal({ agent: 1, ours: 1 });
        expect({ agent: await agent(false), ours: await ours(false) }).to.deep.equal({ agent: 'running', ours: 'running' });
      });
    }

    it('a missing secret without exit_on_retry_failure: retried (the process runs on), and once the secret exists it renders and exit_after_auth exits 0', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-retry-'));
      const proc = await serve(dir, `exit_after_auth = true
${template('late={{ with secret "secret/data/tmpl/late" }}{{ .Data.data.v }}{{ end }}\n', join(dir, 'late.txt'))}`);
      // Two failed attempts (the retry's backoff between them), and the process runs on.
      await waitFor('two failed renders', () => (proc.jsonLines.filter((l) => l['msg'] === 'rendering the template failed').length >= 2 ? true : undefined), 20_000);
      expect(await exitWithin(proc, 100)).to.equal('running');
      await kvWrite(vault, 'tmpl/late', { v: 'here' });
      expect(await exitWithin(proc, 20_000)).to.equal(0);
      expect(readFileSync(join(dir, 'late.txt'), 'utf8')).to.equal('late=here\n');
    });
  });
});
