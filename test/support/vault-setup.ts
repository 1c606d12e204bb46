import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
/** Sets Vault up through its HTTP API (works against the simulator and a real Vault alike). */

export interface VaultTarget {
  /** Where tests send their own setup calls. */
  url: string;
  rootToken: string;
  /** Where vault-extproc is pointed, when not `url` (a real Vault's TCP gate, which tests can close). */
  serviceUrl?: string;
}

export async function vaultApi(v: VaultTarget, method: string, path: string, body?: unknown, token = v.rootToken): Promise<{ status: number; json: any }> {
  const res = await fetch(`${v.url}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return { status: res.status, json };
}

export async function writePolicy(v: VaultTarget, name: string, hcl: string): Promise<void> {
  await vaultApi(v, 'PUT', `sys/policies/acl/${name}`, { policy: hcl });
}

export interface AppRoleCreds {
  roleId: string;
  secretId: string;
}

/** Enables AppRole (once), creates a role with the given policies and TTLs, returns its credentials. */
export async function setupAppRole(
  v: VaultTarget,
  opts: { role?: string; policies?: string[]; tokenTtl?: string; tokenMaxTtl?: string } = {},
): Promise<AppRoleCreds> {
  const role = opts.role ?? 'app';
  const auths = await vaultApi(v, 'GET', 'sys/auth');
  const mounts = (auths.json.data ?? auths.json) as Record<string, unknown>;
  if (!('approle/' in mounts)) await vaultApi(v, 'POST', 'sys/auth/approle', { type: 'approle' });
  await vaultApi(v, 'POST', `auth/approle/role/${role}`, {
    token_policies: opts.policies ?? ['default'],
    ...(opts.tokenTtl ? { token_ttl: opts.tokenTtl } : {}),
    ...(opts.tokenMaxTtl ? { token_max_ttl: opts.tokenMaxTtl } : {}),
  });
  const roleId = (await vaultApi(v, 'GET', `auth/approle/role/${role}/role-id`)).json.data.role_id as string;
  const secretId = (await vaultApi(v, 'POST', `auth/approle/role/${role}/secret-id`)).json.data.secret_id as string;
  return { roleId, secretId };
}

/**
 * An auto_auth block for AppRole credentials, writing them to role_id/secret_id files in `dir`
 * (kept after reading), with an optional file sink at `dir/token`.
 */
export function appRoleAutoAuth(dir: string, creds: AppRoleCreds, opts: { sink?: boolean; sinkMode?: string } = {}): string {
  writeFileSync(join(dir, 'role_id'), creds.roleId);
  writeFileSync(join(dir, 'secret_id'), creds.secretId);
  const sink = opts.sink ? `\n  sink "file" {\n    config = { path = "${join(dir, 'token')}"${opts.sinkMode ? ` mode = ${opts.sinkMode}` : ''} }\n  }` : '';
  return `
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${join(dir, 'role_id')}"
      secret_id_file_path = "${join(dir, 'secret_id')}"
      remove_secret_id_file_after_reading = false
    }
  }${sink}
}
`;
}
