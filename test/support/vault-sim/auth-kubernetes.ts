// The kubernetes auth method (vault-plugin-auth-kubernetes v0.17.1, Vault 1.15.6): config (the
// API server's kubernetes_host, its CA, the token_reviewer_jwt, optional pem_keys), roles bound
// to service-account names and namespaces, and login, which checks the service-account JWT's
// claims locally and then asks the configured API server's TokenReview endpoint over TLS, as the
// plugin does. What is not simulated: reading a local CA/JWT from a pod (a config without
// kubernetes_ca_cert fails as it does outside a pod), token_bound_cidrs at login.
import https from 'node:https';
import type { KeyObject } from 'node:crypto';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { boolField, hasField, stringField, stringListField } from './fields.js';
import { globMatch, parsePublicKeyPem, validateJwt, type Claims } from './jwt-validate.js';
import { backendOf, roleRoutes } from './router.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface KubeConfig {
  host: string;
  caCert: string;
  tokenReviewerJwt: string;
  pemKeys: string[];
  publicKeys: KeyObject[];
  issuer: string;
  disableIssValidation: boolean;
  disableLocalCaJwt: boolean;
}

interface KubeRole extends TokenParams {
  serviceAccountNames: string[];
  serviceAccountNamespaces: string[];
  audience: string;
  aliasNameSource: string;
}

const ALIAS_NAME_SOURCES = ['serviceaccount_uid', 'serviceaccount_name'];
const SUPPORTED_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'];
const LOCAL_CA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
const DENIED = 'permission denied';

/** The service account a JWT names, legacy secret-based or projected token claims. */
interface ServiceAccount {
  name: string;
  namespace: string;
  uid: string;
  secretName: string;
  audiences: string[];
}

function serviceAccountOf(claims: Claims): ServiceAccount {
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const projected = claims['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } } | undefined;
  const aud = claims['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.map(String) : [];
  const secretName = str(claims['kubernetes.io/serviceaccount/secret.name']);
  if (projected && typeof projected === 'object') {
    return {
      namespace: str(projected.namespace), name: str(projected.serviceaccount?.name), uid: str(projected.serviceaccount?.uid), secretName, audiences,
    };
  }
  return {
    namespace: str(claims['kubernetes.io/serviceaccount/namespace']),
    name: str(claims['kubernetes.io/serviceaccount/service-account.name']),
    uid: str(claims['kubernetes.io/serviceaccount/service-account.uid']),
    secretName, audiences,
  };
}

interface Review {
  status: number;
  body: string;
}

/** POST <host>/apis/authentication.k8s.io/v1/tokenreviews over TLS trusting only the configured CA. */
function postTokenReview(config: KubeConfig, jwt: string, audiences: string[]): Promise<Review> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(`${config.host.replace(/\/+$/, '')}/apis/authentication.k8s.io/v1/tokenreviews`);
    } catch (err) {
      reject(err);
      return;
    }
    const body = JSON.stringify({ metadata: { creationTimestamp: null }, spec: { token: jwt, ...(audiences.length ? { audiences } : {}) }, status: { user: {} } });
    const bearer = config.tokenReviewerJwt !== '' ? config.tokenReviewerJwt : jwt;
    const req = https.request(url, {
      method: 'POST',
      // An empty pool, as the plugin's, when no CA is configured: TLS verification fails.
      ca: config.caCert !== '' ? config.caCert : [],
      headers: { authorization: `Bearer ${bearer}`.trim(), 'content-type': 'application/json', accept: 'application/json' },
      timeout: 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** tokenReviewAPI.Review and serviceAccount.lookup: undefined when the API vouches for the JWT. */
async function lookup(config: KubeConfig, jwt: string, sa: ServiceAccount, roleAudience: string): Promise<string | undefined> {
  const wanted = roleAudience !== '' ? [roleAudience] : sa.audiences;
  let review: Review;
  try {
    review = await postTokenReview(config, jwt, wanted);
  } catch (err) {
    return (err as Error).message;
  }
  if (review.status < 200 || review.status > 206) return `lookup failed: ${review.status}`;
  let tr: { status?: { authenticated?: boolean; error?: string; audiences?: string[]; user?: { username?: string; uid?: string } } };
  try {
    tr = JSON.parse(review.body);
  } catch {
    return 'lookup failed: the TokenReview answer is not JSON';
  }
  if (typeof tr.status !== 'object' || tr.status === null) return 'lookup failed: not a TokenReview';
  if (tr.status.error) return `lookup failed: ${tr.status.error}`;
  if (!tr.status.authenticated) return 'lookup failed: service account jwt not valid';
  if (wanted.length > 0 && !wanted.some((a) => (tr.status?.audiences ?? []).includes(a))) return 'lookup failed: audiences';
  const parts = (tr.status.user?.username ?? '').split(':');
  if (parts.length !== 4) return 'lookup failed: unexpected username format';
  if (parts[0] !== 'system' || parts[1] !== 'serviceaccount') return 'lookup failed: username returned is not a service account';
  if (sa.name !== parts[3]) return 'JWT names did not match';
  if (sa.uid !== (tr.status.user?.uid ?? '')) return 'JWT UIDs did not match';
  if (sa.namespace !== parts[2]) return 'JWT namepaces did not match';
  return undefined;
}

export function kubernetesAuthBackend(now: () => number): Backend {
  let config: KubeConfig | undefined;
  const roles = new Map<string, KubeRole>();
  const roleName = (call: Call): string => (call.params['name'] ?? '').toLowerCase();

  const writeConfig = (call: Call): Outcome => {
    const d = call.req.data;
    const host = stringField(d, 'kubernetes_host');
    if (host === '') return fail(400, 'no host provided');
    const disableLocalCaJwt = boolField(d, 'disable_local_ca_jwt', false);
    const caCert = stringField(d, 'kubernetes_ca_cert');
    if (disableLocalCaJwt && caCert === '') return fail(400, 'kubernetes_ca_cert must be given when disable_local_ca_jwt is true');
    const pemKeys = stringListField(d, 'pem_keys');
    const publicKeys: KeyObject[] = [];
    for (const pem of pemKeys) {
      const key = parsePublicKeyPem(pem);
      if (!key) return fail(400, 'data does not contain any valid RSA or ECDSA public keys');
      publicKeys.push(key);
    }
    config = {
      host, caCert, tokenReviewerJwt: stringField(d, 'token_reviewer_jwt'), pemKeys, publicKeys, issuer: stringField(d, 'issuer'),
      disableIssValidation: boolField(d, 'disable_iss_validation', true), disableLocalCaJwt,
    };
    return nothing();
  };

  const readConfig = (): Outcome => (config ? respond({
    data: {
      disable_iss_validation: config.disableIssValidation, disable_local_ca_jwt: config.disableLocalCaJwt, issuer: config.issuer,
      kubernetes_ca_cert: config.caCert, kubernetes_host: config.host, pem_keys: config.pemKeys,
    },
  }) : nothing());

  const writeRole = (call: Call): Outcome => {
    const name = roleName(call);
    if (name === '') return fail(400, 'missing role name');
    const existing = roles.get(name);
    if (!existing && call.req.operation === 'update') return failWrapped(500, 'role entry not found during update operation');
    const role: KubeRole = existing ? { ...existing } : {
      ...defaultTokenParams(), serviceAccountNames: [], serviceAccountNamespaces: [], audience: '', aliasNameSource: 'serviceaccount_uid',
    };
    const problem = parseTokenFields(role, call.req.data, ['policies', 'bound_cidrs', 'num_uses', 'ttl', 'max_ttl', 'period']);
    if (problem) return fail(400, problem);
    if (role.tokenMaxTtlSeconds > 0 && role.tokenTtlSeconds > role.tokenMaxTtlSeconds) return fail(400, 'token ttl should not be greater than token max ttl');
    const d = call.req.data;
    if (hasField(d, 'bound_service_account_names')) role.serviceAccountNames = stringListField(d, 'bound_service_account_names');
    if (role.serviceAccountNames.length === 0) return fail(400, '"bound_service_account_names" can not be empty');
    if (role.serviceAccountNames.length > 1 && role.serviceAccountNames.includes('*')) return fail(400, 'can not mix "*" with values');
    if (hasField(d, 'bound_service_account_namespaces')) role.serviceAccountNamespaces = stringListField(d, 'bound_service_account_namespaces');
    if (role.serviceAccountNamespaces.length === 0) return fail(400, '"bound_service_account_namespaces" can not be empty');
    if (role.serviceAccountNamespaces.length > 1 && role.serviceAccountNamespaces.includes('*')) return fail(400, 'can not mix "*" with values');
    if (hasField(d, 'audience')) role.audience = stringField(d, 'audience');
    if (hasField(d, 'alias_name_source')) role.aliasNameSource = stringField(d, 'alias_name_source') || 'serviceaccount_uid';
    if (!ALIAS_NAME_SOURCES.includes(role.aliasNameSource)) {
      return fail(400, `invalid alias_name_source, must be one of: ${ALIAS_NAME_SOURCES.join(', ')}`);
    }
    roles.set(name, role);
    return nothing();
  };

  const roleData = (role: KubeRole): Record<string, unknown> => ({
    alias_name_source: role.aliasNameSource,
    ...(role.audience !== '' ? { audience: role.audience } : {}),
    bound_service_account_names: role.serviceAccountNames,
    bound_service_account_namespaces: role.serviceAccountNamespaces,
    ...populateTokenData(role),
  });

  const login = async (call: Call): Promise<Outcome> => {
    const d = call.req.data;
    const name = stringField(d, 'role');
    if (name === '') return fail(400, 'missing role');
    const jwt = stringField(d, 'jwt');
    if (jwt === '') return fail(400, 'missing jwt');
    const role = roles.get(name.toLowerCase());
    if (!role) return fail(400, `invalid role name "${name}"`);
    if (!config) return failWrapped(500, 'could not load backend configuration');
    if (config.caCert === '' && !config.disableLocalCaJwt) {
      return failWrapped(500, `open ${LOCAL_CA_PATH}: no such file or directory`);
    }
    const checked = validateJwt(jwt, config.publicKeys.length > 0 ? config.publicKeys : undefined, {
      signingAlgorithms: SUPPORTED_ALGS,
      ...(!config.disableIssValidation && config.issuer !== '' ? { issuer: config.issuer } : {}),
      ...(role.audience !== '' ? { audiences: [role.audience] } : {}),
      allowMissingTimes: true,
      nowMs: now(),
    });
    if ('error' in checked) {
      // A bad signature (or a JWT that does not parse) is a bare permission denied.
      return fail(403, checked.error.includes('verifying token signature') ? DENIED : checked.error);
    }
    const sa = serviceAccountOf(checked.claims);
    const allowed = (list: string[], value: string): boolean => (list.length === 1 && list[0] === '*') || list.some((p) => globMatch(p, value));
    if (!allowed(role.serviceAccountNamespaces, sa.namespace)) return fail(403, 'namespace not authorized');
    if (!allowed(role.serviceAccountNames, sa.name)) return fail(403, 'service account name not authorized');
    if (sa.uid === '') return failWrapped(500, 'could not parse UID from claims');
    const aliasName = role.aliasNameSource === 'serviceaccount_name' ? `${sa.namespace}/${sa.name}` : sa.uid;
    if (await lookup(config, jwt, sa, role.audience)) return fail(403, DENIED);
    const current = roles.get(name.toLowerCase());
    if (!current) return fail(400, `invalid role name "${name}"`);
    return issueLoginToken(call, call.mount, current, {
      displayName: `${sa.namespace}-${sa.name}`,
      metadata: {
        role: name, service_account_name: sa.name, service_account_namespace: sa.namespace,
        service_account_secret_name: sa.secretName, service_account_uid: sa.uid,
      },
      aliasName,
      renewFrom: renewWithParams(() => roles.get(name.toLowerCase()), `role ${name} does not exist during renewal`),
    });
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'config', ops: { update: writeConfig, read: readConfig } },
    ...roleRoutes(roles, writeRole, roleData, (name) => name.toLowerCase()),
  ]);
}
