// What the auto-auth e2e suites (test/e2e/auth-methods/) share: the auto_auth block with a file
// sink, `vault-extproc check` on a config file, and a request through Envoy without a token with
// what Vault saw of it.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from './backend.js';
import { CLI } from './paths.js';
import { waitFor } from './ports.js';
import type { Stack } from './stack.js';
import type { RecordedRequest } from './vault-sim/index.js';
import { vaultApi } from './vault-setup.js';

/**
 * An auto_auth block with one method (`config`: the lines of its config map) and a file sink at
 * <dir>/token, and api_proxy use_auto_auth_token = true; `extra.autoAuth` and `extra.method` are
 * more lines for the auto_auth and method blocks.
 */
export function autoAuthHcl(dir: string, method: string, config: string, extra: { autoAuth?: string; method?: string } = {}): string {
  return `
auto_auth {
  ${extra.autoAuth ?? ''}
  method "${method}" {
    ${extra.method ?? ''}
    config = {
${config}
    }
  }
  sink "file" { config = { path = "${join(dir, 'token')}" } }
}
api_proxy { use_auto_auth_token = true }
`;
}

/**
 * Writes <dir>/<name>: a config for `check` with a vault block at `vaultAddress`, a listener, an
 * extproc block (a unix socket in `dir`), then `rest`; returns its path.
 */
export function writeCheckConfig(dir: string, name: string, vaultAddress: string, rest: string): string {
  const path = join(dir, name);
  writeFileSync(path, `vault { address = "${vaultAddress}" }
listener "tcp" {
  address = "127.0.0.1:0"
  tls_disable = true
}
extproc {
  address = "unix://${join(dir, `${name}.sock`)}"
  admin_address = "127.0.0.1:0"
}
${rest}`);
  return path;
}

/** Runs the built CLI to completion, without VAULT_ADDR (it would override the config's address). */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['VAULT_ADDR'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', reject);
    // 'close', not 'exit': all of the output has been read.
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A GET of `path` (/v1/…) through Envoy without a token: the answer, and Vault's record of the requests to it. */
export async function getThroughEnvoy(stack: Stack, backend: Backend, path: string): Promise<{ status: number; body: any; seen: RecordedRequest[] }> {
  backend.clearRequests();
  const res = await fetch(`${stack.url}${path}`);
  const body = await res.json();
  await waitFor(`the request to ${path} in Vault's record`, () => backend.requestsTo(path)[0]);
  return { status: res.status, body, seen: backend.requestsTo(path) };
}

/**
 * The token in the stack's sink (<stack.dir>/token) is a login at `loginPath` with `meta`; a
 * request through Envoy without a token reads `data` at `path` and reaches Vault (once) with that
 * token; the token is not in the logs. Returns the token.
 */
export async function expectAutoAuthThroughEnvoy(stack: Stack, backend: Backend, want: { loginPath: string; meta: Record<string, string>; path: string; data: unknown }): Promise<string> {
  const token = readFileSync(join(stack.dir, 'token'), 'utf8');
  const self = await vaultApi(backend, 'GET', 'auth/token/lookup-self', undefined, token);
  expect(self.json.data.path).to.equal(want.loginPath);
  expect(self.json.data.meta).to.include(want.meta);
  const read = await getThroughEnvoy(stack, backend, want.path);
  expect(read.status).to.equal(200);
  expect(read.body.data.data).to.deep.equal(want.data);
  expect(read.seen).to.have.length(1);
  expect(read.seen[0]!.token).to.equal(await backend.tokenAsSeen(token));
  expect(stack.logs()).not.to.include(token);
  return token;
}
