// Vault set up for the kubernetes and jwt auth methods through its HTTP API (the simulator and a
// real Vault alike): the kubernetes method pointed at a TokenReview stand-in, the jwt method at
// the test's public keys, each with one role and a policy reading one KV v2 secret.
import { readFileSync } from 'node:fs';
import type { K8sApi } from './k8s-token-review.js';
import { vaultApi, writePolicy, type VaultTarget } from './vault-setup.js';

/** A KV v2 secret the role's policy may read, written with the root token. */
export async function secretForPolicy(v: VaultTarget, policy: string, path: string, data: Record<string, string>): Promise<void> {
  await writePolicy(v, policy, `path "secret/data/${path}" { capabilities = ["read"] }`);
  await vaultApi(v, 'POST', `secret/data/${path}`, { data });
}

async function enableAuth(v: VaultTarget, mount: string, type: string): Promise<void> {
  const auths = await vaultApi(v, 'GET', 'sys/auth');
  const mounts = (auths.json.data ?? auths.json) as Record<string, unknown>;
  if (!(`${mount}/` in mounts)) await vaultApi(v, 'POST', `sys/auth/${mount}`, { type });
}

export interface RoleOptions {
  role?: string;
  policies?: string[];
  tokenTtl?: string;
  tokenMaxTtl?: string;
  mount?: string;
}

const tokenFields = (o: RoleOptions): Record<string, unknown> => ({
  token_policies: o.policies ?? ['default'],
  ...(o.tokenTtl ? { token_ttl: o.tokenTtl } : {}),
  ...(o.tokenMaxTtl ? { token_max_ttl: o.tokenMaxTtl } : {}),
});

/**
 * Enables kubernetes auth (once) at `mount` (default kubernetes), its config naming the stand-in
 * API (kubernetes_host, the test CA as kubernetes_ca_cert, its token_reviewer_jwt), and a role
 * bound to service account `names` in `namespaces`.
 */
export async function setupKubernetesAuth(v: VaultTarget, api: K8sApi, caCertFile: string, opts: RoleOptions & { names?: string[]; namespaces?: string[] } = {}): Promise<void> {
  const mount = opts.mount ?? 'kubernetes';
  await enableAuth(v, mount, 'kubernetes');
  await vaultApi(v, 'POST', `auth/${mount}/config`, {
    kubernetes_host: api.url, kubernetes_ca_cert: readFileSync(caCertFile, 'utf8'), token_reviewer_jwt: api.reviewerJwt,
  });
  await vaultApi(v, 'POST', `auth/${mount}/role/${opts.role ?? 'app'}`, {
    bound_service_account_names: opts.names ?? ['app'], bound_service_account_namespaces: opts.namespaces ?? ['prod'], ...tokenFields(opts),
  });
}

/**
 * Enables jwt auth (once) at `mount` (default jwt) validating with `publicPems`
 * (jwt_validation_pubkeys), and a role of role_type "jwt" with user_claim sub, bound to
 * `audience` and, when given, `subject`.
 */
export async function setupJwtAuth(v: VaultTarget, publicPems: string[], opts: RoleOptions & { audience?: string; subject?: string } = {}): Promise<void> {
  const mount = opts.mount ?? 'jwt';
  await enableAuth(v, mount, 'jwt');
  await vaultApi(v, 'POST', `auth/${mount}/config`, { jwt_validation_pubkeys: publicPems });
  await vaultApi(v, 'POST', `auth/${mount}/role/${opts.role ?? 'ci'}`, {
    role_type: 'jwt', user_claim: 'sub', bound_audiences: [opts.audience ?? 'vault'],
    ...(opts.subject ? { bound_subject: opts.subject } : {}), ...tokenFields(opts),
  });
}
