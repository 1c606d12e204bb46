// The azure auth method (vault-plugin-auth-azure v0.16.2, Vault 1.15): config, roles and login.
// Login verifies the token as the plugin's go-oidc verifier does, with the issuer and keys found by
// OpenID discovery at https://login.microsoftonline.com/<tenant_id>/ (or the configured
// environment's authority host), fetched the way Vault's Go client fetches (HTTPS_PROXY and
// SSL_CERT_FILE honoured: that is how tests put a loopback stand-in there), then the role's
// bound_service_principal_ids and bound_group_ids. Bounds that need Azure Resource Manager
// (subscriptions, resource groups, locations, scale sets) are not simulated.
import { durationField, hasField, intField, stringField, stringListField } from './fields.js';
import { backendOf, roleRoutes } from './router.js';
import { goHttp, parseJws, rs256Verifies } from './auth-cloud-common.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

const AUTHORITY_HOSTS: Record<string, string> = {
  AZUREPUBLICCLOUD: 'https://login.microsoftonline.com/',
  AZURECHINACLOUD: 'https://login.chinacloudapi.cn/',
  AZUREUSGOVERNMENTCLOUD: 'https://login.microsoftonline.us/',
};
const NS = 1_000_000_000;

interface AzureConfig {
  tenantId: string;
  resource: string;
  environment: string;
  clientId: string;
  clientSecret: string;
  maxRetries: number;
  maxRetryDelaySeconds: number;
  retryDelaySeconds: number;
  rootPasswordTtlSeconds: number;
}

interface AzureRole extends TokenParams {
  boundServicePrincipalIds: string[];
  boundGroupIds: string[];
  boundLocations: string[];
  boundSubscriptionIds: string[];
  boundResourceGroups: string[];
  boundScaleSets: string[];
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Go's time.Time %v for a Unix time, in UTC. */
function goTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} +0000 UTC`;
}

export function azureAuthBackend(now: () => number): Backend {
  let config: AzureConfig | undefined;
  const roles = new Map<string, AzureRole>();
  const nowSeconds = (): number => Math.floor(now() / 1000);

  const writeConfig = (call: Call): Outcome => {
    const d = call.req.data;
    const c: AzureConfig = config ? { ...config } : {
      tenantId: '', resource: '', environment: '', clientId: '', clientSecret: '', maxRetries: 3,
      maxRetryDelaySeconds: 60, retryDelaySeconds: 4, rootPasswordTtlSeconds: 15768000,
    };
    if (hasField(d, 'tenant_id')) c.tenantId = stringField(d, 'tenant_id');
    if (hasField(d, 'resource')) c.resource = stringField(d, 'resource');
    if (hasField(d, 'environment')) c.environment = stringField(d, 'environment');
    if (hasField(d, 'client_id')) c.clientId = stringField(d, 'client_id');
    if (hasField(d, 'client_secret')) c.clientSecret = stringField(d, 'client_secret');
    if (hasField(d, 'max_retries')) c.maxRetries = intField(d, 'max_retries', 3);
    if (hasField(d, 'max_retry_delay')) c.maxRetryDelaySeconds = durationField(d, 'max_retry_delay');
    if (hasField(d, 'retry_delay')) c.retryDelaySeconds = durationField(d, 'retry_delay');
    if (hasField(d, 'root_password_ttl')) c.rootPasswordTtlSeconds = durationField(d, 'root_password_ttl');
    if (c.environment !== '' && !AUTHORITY_HOSTS[c.environment.toUpperCase()]) {
      return fail(400, `err: no cloud configuration matching the name "${c.environment.toUpperCase()}"`);
    }
    config = c;
    return nothing();
  };
  const readConfig = (): Outcome => config ? respond({ data: {
    client_id: config.clientId, environment: config.environment, max_retries: config.maxRetries,
    max_retry_delay: config.maxRetryDelaySeconds * NS, resource: config.resource, retry_delay: config.retryDelaySeconds * NS,
    root_password_ttl: config.rootPasswordTtlSeconds, tenant_id: config.tenantId,
  } }) : nothing();

  const writeRole = (call: Call): Outcome => {
    const name = call.params['name']!;
    const d = call.req.data;
    const role: AzureRole = roles.has(name) ? { ...roles.get(name)! } : {
      boundServicePrincipalIds: [], boundGroupIds: [], boundLocations: [], boundSubscriptionIds: [], boundResourceGroups: [], boundScaleSets: [],
      ...defaultTokenParams(),
    };
    const tokenProblem = parseTokenFields(role, d, ['policies', 'num_uses', 'ttl', 'max_ttl', 'period']);
    if (tokenProblem) return fail(400, tokenProblem);
    const lists: Array<[keyof AzureRole, string]> = [
      ['boundServicePrincipalIds', 'bound_service_principal_ids'], ['boundGroupIds', 'bound_group_ids'], ['boundLocations', 'bound_locations'],
      ['boundSubscriptionIds', 'bound_subscription_ids'], ['boundResourceGroups', 'bound_resource_groups'], ['boundScaleSets', 'bound_scale_sets'],
    ];
    for (const [key, field] of lists) if (hasField(d, field)) (role[key] as string[]) = stringListField(d, field);
    if (lists.every(([key]) => (role[key] as string[]).length === 0)) return fail(400, 'must have at least one bound constraint when creating/updating a role');
    if (role.tokenMaxTtlSeconds > 0 && role.tokenTtlSeconds > role.tokenMaxTtlSeconds) return fail(400, 'ttl should not be greater than max_ttl');
    roles.set(name, role);
    return nothing();
  };
  const roleData = (r: AzureRole): Record<string, unknown> => {
    const orNull = (l: string[]): string[] | null => (l.length > 0 ? l : null);
    return {
      bound_group_ids: orNull(r.boundGroupIds), bound_locations: orNull(r.boundLocations), bound_resource_groups: orNull(r.boundResourceGroups),
      bound_scale_sets: orNull(r.boundScaleSets), bound_service_principal_ids: orNull(r.boundServicePrincipalIds),
      bound_subscription_ids: orNull(r.boundSubscriptionIds), ...populateTokenData(r),
    };
  };

  /** The plugin's OpenID discovery (azure.go newAzureProvider) and go-oidc's verification. */
  const verify = async (token: string, c: AzureConfig): Promise<{ claims: Record<string, unknown> } | Outcome> => {
    const tenant = process.env['AZURE_TENANT_ID'] || c.tenantId;
    if (!tenant) return fail(500, 'tenant_id is required');
    const resource = process.env['AZURE_AD_RESOURCE'] || c.resource;
    if (!resource) return fail(500, 'resource is required');
    const env = (process.env['AZURE_ENVIRONMENT'] || c.environment || 'AzurePublicCloud').toUpperCase();
    const discoveryUrl = `${AUTHORITY_HOSTS[env]}${tenant}/.well-known/openid-configuration`;
    let discovery: { issuer?: string; jwks_uri?: string };
    try {
      const reply = await goHttp(discoveryUrl);
      if (reply.status !== 200) return fail(500, `${reply.status}: ${reply.text}`);
      discovery = JSON.parse(reply.text) as { issuer?: string; jwks_uri?: string };
    } catch (err) {
      return fail(500, `Get "${discoveryUrl}": ${(err as Error).message}`);
    }
    const jws = parseJws(token);
    if (typeof jws === 'number') {
      return fail(500, jws === -1 ? 'oidc: malformed jwt payload' : 'oidc: malformed jwt: square/go-jose: compact JWS format must have three parts');
    }
    const claims = jws.claims;
    if (claims['iss'] !== discovery.issuer) {
      return fail(500, `oidc: id token issued by a different provider, expected ${JSON.stringify(discovery.issuer ?? '')} got ${JSON.stringify(String(claims['iss'] ?? ''))}`);
    }
    const auds = Array.isArray(claims['aud']) ? claims['aud'].map(String) : typeof claims['aud'] === 'string' ? [claims['aud']] : [];
    if (!auds.includes(resource)) return fail(500, `oidc: expected audience ${JSON.stringify(resource)} got ${goQuoteList(auds)}`);
    const nowS = nowSeconds();
    if (typeof claims['exp'] === 'number' && claims['exp'] < nowS) return fail(500, `oidc: token is expired (Token Expiry: ${goTime(claims['exp'])})`);
    if (typeof claims['nbf'] === 'number' && nowS + 60 < claims['nbf']) {
      return fail(500, `oidc: current time ${goTime(nowS)} before the nbf (not before) time: ${goTime(claims['nbf'])}`);
    }
    if (jws.header['alg'] !== 'RS256') return fail(500, `oidc: id token signed with unsupported algorithm, expected ["RS256"] got ${JSON.stringify(String(jws.header['alg'] ?? ''))}`);
    let keys: Array<Record<string, unknown>>;
    try {
      const reply = await goHttp(discovery.jwks_uri ?? '');
      keys = (JSON.parse(reply.text) as { keys?: Array<Record<string, unknown>> }).keys ?? [];
    } catch (err) {
      return fail(500, `failed to verify signature: fetching keys oidc: get keys failed: ${(err as Error).message}`);
    }
    const kid = jws.header['kid'];
    const candidates = keys.filter((k) => kid === undefined || k['kid'] === kid);
    if (!candidates.some((k) => rs256Verifies(jws, k as import('node:crypto').JsonWebKey))) {
      return fail(500, 'failed to verify signature: failed to verify id token signature');
    }
    return { claims };
  };

  const login = async (call: Call): Promise<Outcome> => {
    const d = call.req.data;
    const jwt = stringField(d, 'jwt');
    if (jwt === '') return fail(400, 'jwt is required');
    const roleName = stringField(d, 'role');
    if (roleName === '') return fail(400, 'role is required');
    const role = roles.get(roleName);
    if (!role) return fail(400, `invalid role name "${roleName}"`);
    const c = config ?? {
      tenantId: '', resource: '', environment: '', clientId: '', clientSecret: '', maxRetries: 3, maxRetryDelaySeconds: 60, retryDelaySeconds: 4, rootPasswordTtlSeconds: 0,
    };
    const verified = await verify(jwt, c);
    if (!('claims' in verified)) return verified;
    const claims = verified.claims;
    const oid = typeof claims['oid'] === 'string' ? claims['oid'] : '';
    const groups = Array.isArray(claims['groups']) ? claims['groups'].map(String) : [];
    const nbf = typeof claims['nbf'] === 'number' ? claims['nbf'] : 0;
    if (nbf > nowSeconds()) return fail(500, `token is not yet valid (Token Not Before: ${goTime(nbf)})`);
    const sp = role.boundServicePrincipalIds;
    const gr = role.boundGroupIds;
    if (sp.length === 1 && sp[0] === '*' && gr.length === 1 && gr[0] === '*') {
      return fail(500, "expected specific bound_group_ids or bound_service_principal_ids; both cannot be '*'");
    }
    if (sp.length > 0 && !(sp.length === 1 && sp[0] === '*') && !sp.includes(oid)) return fail(500, `service principal not authorized: ${oid}`);
    if (gr.length > 0 && !(gr.length === 1 && gr[0] === '*') && !groups.some((g) => gr.includes(g))) return fail(500, `groups not authorized: [${groups.join(' ')}]`);
    const subscriptionId = stringField(d, 'subscription_id');
    const resourceGroupName = stringField(d, 'resource_group_name');
    const vmName = stringField(d, 'vm_name');
    const vmssName = stringField(d, 'vmss_name');
    const resourceId = stringField(d, 'resource_id');
    if (role.boundResourceGroups.length > 0 || role.boundSubscriptionIds.length > 0 || role.boundLocations.length > 0 || role.boundScaleSets.length > 0) {
      if (subscriptionId === '' || resourceGroupName === '') return fail(500, 'subscription_id and resource_group_name are required');
      return fail(500, 'vault-sim: bound_subscription_ids, bound_resource_groups, bound_locations and bound_scale_sets need Azure Resource Manager, which is not simulated');
    }
    const metadata: Record<string, string> = { resource_group_name: resourceGroupName, role: roleName, subscription_id: subscriptionId };
    if (vmName) metadata['vm_name'] = vmName;
    if (vmssName) metadata['vmss_name'] = vmssName;
    if (resourceId) metadata['resource_id'] = resourceId;
    if (typeof claims['appid'] === 'string' && claims['appid'] !== '') metadata['app_id'] = claims['appid'];
    return issueLoginToken(call, call.mount, role, {
      renewFrom: renewWithParams(() => roles.get(roleName), `role "${roleName}" no longer exists`), aliasName: oid, displayName: oid, metadata,
    });
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'config', ops: { read: readConfig, update: writeConfig, delete: () => { config = undefined; return nothing(); } } },
    ...roleRoutes(roles, writeRole, roleData),
  ]);
}
