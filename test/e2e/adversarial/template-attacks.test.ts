// Attacks on the templates rendered by the worker (issue 20) through the static cache, on both
// backends, through real Envoy:
// 1. A template that reads every name listed under a KV folder (a common consul-template pattern:
//    `range secrets "…/metadata/apps/"` then `secret (printf "…/data/apps/%s" .)`) meets a name a
//    lower-privileged user created: `x\..\..\admin` (a backslash is an ordinary character in a Vault
//    path; Vault Agent's client sends it as %5C). The worker must read THAT secret, as Vault Agent
//    does, and the static cache must never answer the user's token, for that name, with a secret
//    Vault refuses it.
// 2. use_auto_auth_token = true: a request without a token acts with the auto-auth token, exactly as
//    Vault Proxy injects it; a HIT on what only the template read is then Vault's own answer to the
//    auto-auth token. A request with another token (none, stranger, revoked) never gets that HIT.
// 3. Template errors that would print a secret value (parseInt of it, range over it): no log line
//    holds the value (consul-template prints [redacted]).
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { sleep, waitFor } from '../../support/ports.js';
import { rawRequest } from '../../support/raw-http.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../../support/vault-setup.js';
import { fileBecomes, readOr } from '../templates-helpers.js';

/** The auto-auth token's policy: read and list every secret, subscribe to KV events (Vault Proxy's documented policy). */
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
/** A team's token: read any ONE-segment name under apps/ (its own secrets), nothing else. */
const APPS_USER = 'path "secret/data/apps/+" { capabilities = ["read", "create", "update"] }';

/** The user's secret name: one path segment for Vault (no '/'), which WHATWG URL parsing turns into `../../admin`. */
const EVIL_NAME = 'x\\..\\..\\admin';
const EVIL_RAW_PATH = `/v1/secret/data/apps/${encodeURIComponent(EVIL_NAME)}`; // x%5C..%5C..%5Cadmin

const ADMIN_SECRET = 'TOP-SECRET-ADMIN-7f3a';
const LOG_SECRET = 'LOGLEAK-VALUE-91c2e';
/** A second value of the same secret: an invalid regexp (regexReplaceAll prints its pattern in the error). */
const LOG_PATTERN = 'LOGLEAK-PATTERN-5e0a';

function template(source: string, destination: string, extra = ''): string {
  return `template {
  contents = ${JSON.stringify(source)}
  destination = "${destination}"
${extra}
}
`;
}

/** A raw write (the path's bytes as given: %5C stays %5C, as the vault CLI sends it). */
async function rawKvWrite(v: Backend, rawPath: string, data: Record<string, string>, token = v.rootToken): Promise<void> {
  const r = await rawRequest(v.url, {
    method: 'POST', path: rawPath, headers: [['x-vault-token', token], ['content-type', 'application/json']], body: JSON.stringify({ data }),
  });
  if (r.status !== 200 && r.status !== 204) throw new Error(`writing ${rawPath}: ${r.status} ${r.body}`);
}

interface Seen { status: number; cache: string | undefined; v: string | undefined }

async function readAs(url: string, rawPath: string, token: string | undefined): Promise<Seen> {
  const r = await rawRequest(url, { method: 'GET', path: rawPath, headers: token ? [['x-vault-token', token]] : [] });
  let v: string | undefined;
  try {
    v = (JSON.parse(r.body) as { data?: { data?: { v?: string } } }).data?.data?.v;
  } catch {
    v = undefined;
  }
  return { status: r.status, cache: r.headers['x-cache'], v };
}

forEachBackend('adversarial: templates reading through the static cache', function (kind) {
  this.timeout(120_000);
  let vault: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'tmpl-worker', WORKER);
    await writePolicy(vault, 'apps-user', APPS_USER);
    await vaultApi(vault, 'POST', 'secret/data/admin', { data: { v: ADMIN_SECRET } });
    await vaultApi(vault, 'POST', 'secret/data/apps/web', { data: { v: 'web-config' } });
    await vaultApi(vault, 'POST', 'secret/data/tmpl/log', { data: { v: LOG_SECRET, pattern: `${LOG_PATTERN}(` } });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault.close();
  });

  describe('a listed name with a backslash (a user\'s secret) in a range-over-secrets template', () => {
    let stack: Stack;
    let out: string;
    let user: string;
    before(async () => {
      user = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['apps-user'], ttl: '1h' })).json.auth.client_token as string;
      // The user creates a secret under apps/ with their own token: their policy allows the name (one segment).
      await rawKvWrite(vault, EVIL_RAW_PATH, { v: 'mine' }, user);
      const creds = await setupAppRole(vault, { role: 'tmpl-atk-worker', policies: ['tmpl-worker'] });
      stack = await startStack({
        vault,
        hcl: ({ dir }) => {
          out = join(dir, 'apps.txt');
          return `${appRoleAutoAuth(dir, creds)}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  static_secret_refresh_interval = "2s"
}
template_config {
  static_secret_render_interval = "2s"
}
${template('{{ range secrets "secret/metadata/apps/" }}{{ . }}={{ with secret (printf "secret/data/apps/%s" .) }}{{ .Data.data.v }}{{ end }};{{ end }}', out)}
${template('{{ with secret "secret/data/tmpl/log" }}{{ .Data.data.v | parseInt }}{{ end }}', join(dir, 'err1.txt'))}
${template('{{ with secret "secret/data/tmpl/log" }}{{ range $i, $c := .Data.data.v }}{{ end }}{{ end }}', join(dir, 'err2.txt'))}
${template('{{ with secret "secret/data/tmpl/log" }}{{ .Data.data.v | parseBool }}{{ end }}', join(dir, 'err3.txt'))}
${template('{{ with secret "secret/data/tmpl/log" }}{{ regexReplaceAll .Data.data.pattern "x" "y" }}{{ end }}', join(dir, 'err4.txt'))}
${template('{{ with secret "secret/data/tmpl/log" }}{{ with secret (printf "secret/data/nope/%s" .Data.data.v) }}{{ .Data }}{{ end }}{{ end }}', join(dir, 'err5.txt'), '  error_on_missing_key = true')}
${template('{{ with secret "secret/data/tmpl/log" }}{{ .Data.data.v | parseInt }}{{ end }}', join(dir, 'err6.txt'), '  error_on_missing_key = true')}`;
        },
      });
      stacks.push(stack);
    });

    it('Vault itself: the user reads their own secret (mine) and is refused secret/data/admin (403)', async () => {
      expect(await readAs(vault.url, EVIL_RAW_PATH, user)).to.deep.include({ status: 200, v: 'mine' });
      expect((await readAs(vault.url, '/v1/secret/data/admin', user)).status).to.equal(403);
    });

    it('the template renders the secret Vault names by that path (mine), as Vault Agent does (its client sends the backslash as %5C), not secret/data/admin', async () => {
      const { text } = await fileBecomes(out, (t) => t.includes(`${EVIL_NAME}=`), 20_000);
      expect(text.includes(ADMIN_SECRET), 'the rendered file holds secret/data/admin for the name x\\..\\..\\admin').to.equal(false);
      expect(text).to.equal(`web=web-config;${EVIL_NAME}=mine;`);
    });

    it('through Envoy the user\'s token is never answered, for its own path, with a secret Vault refuses it (12 s of reads over 2 s refetches)', async () => {
      await fileBecomes(out, (t) => t.includes(`${EVIL_NAME}=`), 20_000);
      const wrong: Seen[] = [];
      const seen: Seen[] = [];
      const until = Date.now() + 12_000;
      while (Date.now() < until) {
        const got = await readAs(stack.url, EVIL_RAW_PATH, user);
        const truth = await readAs(vault.url, EVIL_RAW_PATH, user);
        seen.push(got);
        if (got.status !== truth.status || got.v !== truth.v) wrong.push(got);
        await sleep(250);
      }
      const summary = seen.map((s) => `${s.status}/${s.cache ?? '-'}/${s.v === ADMIN_SECRET ? 'ADMIN' : s.v}`);
      process.stdout.write(`      [${kind}] ${seen.length} reads; wrong answers ${wrong.length} (first: ${summary.slice(0, 6).join(', ')} … last: ${summary.at(-1)})\n`);
      expect(wrong.filter((w) => w.v === ADMIN_SECRET), 'HITs carrying secret/data/admin to a token Vault refuses it').to.have.length(0);
      expect(wrong).to.have.length(0);
    });

    it('template errors that would print a secret value (parseInt/parseBool of it, range over it, a regexp made of it, a path built from it) log no line holding a value', async () => {
      const failing = ['err1.txt', 'err2.txt', 'err3.txt', 'err4.txt', 'err5.txt', 'err6.txt'];
      await waitFor('every failing template tried at least once', () => (failing.every((f) => stack.service.text.split('\n').some((l) => l.includes(f) && /fail/i.test(l))) ? true : undefined), 20_000);
      await sleep(500);
      for (const f of failing) expect(readOr(join(stack.dir, f)), f).to.equal('');
      const leaking = stack.service.text.split('\n').filter((l) => l.includes(LOG_SECRET) || l.includes(LOG_PATTERN));
      expect(leaking.map((l) => l.replaceAll(LOG_SECRET, '<THE SECRET>').replaceAll(LOG_PATTERN, '<THE PATTERN>')), 'log lines with a secret value').to.deep.equal([]);
    });
  });

  describe('use_auto_auth_token = true: what only the template read', () => {
    let stack: Stack;
    let out: string;
    before(async () => {
      await vaultApi(vault, 'POST', 'secret/data/tmplonly/a', { data: { v: 'template-only' } });
      const creds = await setupAppRole(vault, { role: 'tmpl-atk-worker2', policies: ['tmpl-worker'] });
      stack = await startStack({
        vault,
        hcl: ({ dir }) => {
          out = join(dir, 'a.txt');
          return `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy {
  use_auto_auth_token = true
}
cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
}
${template('{{ with secret "secret/data/tmplonly/a" }}{{ .Data.data.v }}{{ end }}', out)}`;
        },
      });
      stacks.push(stack);
      await fileBecomes(out, (t) => t === 'template-only', 20_000);
      await sleep(500); // the worker's first lookup of the auto-auth token (its grant)
    });

    it('no token: a HIT that is Vault\'s own answer to the auto-auth token (what Vault Proxy forwards)', async () => {
      const autoAuth = readOr(join(stack.dir, 'token'));
      expect(autoAuth.length > 0, 'the sink holds the auto-auth token').to.equal(true);
      const got = await readAs(stack.url, '/v1/secret/data/tmplonly/a', undefined);
      const truth = await readAs(vault.url, '/v1/secret/data/tmplonly/a', autoAuth);
      expect(got).to.deep.equal({ status: truth.status, cache: 'HIT', v: truth.v });
    });

    it('a stranger\'s token, an unknown token and a revoked token never get the template\'s HIT (Vault: 403)', async () => {
      const stranger = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['default'], ttl: '1h' })).json.auth.client_token as string;
      const revoked = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['tmpl-worker'], ttl: '1h' })).json.auth.client_token as string;
      expect(await readAs(stack.url, '/v1/secret/data/tmplonly/a', revoked)).to.deep.include({ status: 200, cache: 'MISS' });
      // Revoked through Envoy: cached access ends at once (a revocation directly in Vault is bounded by one capability interval).
      const rev = await rawRequest(stack.url, { method: 'POST', path: '/v1/auth/token/revoke-self', headers: [['x-vault-token', revoked]] });
      expect(rev.status).to.equal(204);
      for (const token of [stranger, 'hvs.not-a-token-at-all', revoked]) {
        const got = await readAs(stack.url, '/v1/secret/data/tmplonly/a', token);
        const truth = await readAs(vault.url, '/v1/secret/data/tmplonly/a', token);
        expect(truth.status).to.equal(403);
        expect(got.cache, 'no X-Cache: HIT for a token Vault refuses').to.not.equal('HIT');
        expect(got.status).to.equal(truth.status);
      }
    });
  });
});
