// The gcp auth method (vault-plugin-auth-gcp v0.16.1, Vault 1.15): config (credentials,
// custom_endpoint), roles of type iam and gce, and login, which verifies the JWT with the keys
// Google publishes (the OAuth2 certificates, then, for iam, the service account's own keys) at
// custom_endpoint.api, reads the service account from custom_endpoint.iam and, for gce, the
// instance from custom_endpoint.compute. Its own OAuth token comes from the configured credentials
// or, as Application Default Credentials, from GOOGLE_APPLICATION_CREDENTIALS or the GCE metadata
// server (GCE_METADATA_HOST). Group aliases (crm), instance groups and labels are not simulated.
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { boolField, durationField, hasField, stringField, stringListField, stringMapField } from './fields.js';
import { newUuid } from './ids.js';
import { backendOf, roleRoutes } from './router.js';
import { goHttp, parseJws, rs256Verifies, type Jws } from './auth-cloud-common.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

const DEFAULT_API = 'https://www.googleapis.com';
const DEFAULT_IAM = 'https://iam.googleapis.com/';
const DEFAULT_COMPUTE = 'https://compute.googleapis.com/compute/v1/';
const GCE_METADATA_FIELDS = ['instance_creation_timestamp', 'instance_id', 'instance_name', 'project_id', 'project_number', 'role', 'service_account_id', 'service_account_email', 'zone'];
const IAM_METADATA_FIELDS = ['project_id', 'role', 'service_account_id', 'service_account_email'];
const JWT_EXP_TOLERANCE_SECONDS = 60;
const MAX_JWT_EXP_MAX_SECONDS = 60 * 60;

interface Credentials {
  client_email?: string;
  client_id?: string;
  private_key_id?: string;
  private_key?: string;
  project_id?: string;
}

interface GcpConfig {
  credentials?: Credentials;
  endpoints: Record<string, string>;
  iamAlias: string;
  gceAlias: string;
}

interface GcpRole extends TokenParams {
  readonly name: string;
  readonly type: 'iam' | 'gce';
  roleId: string;
  boundProjects: string[];
  boundServiceAccounts: string[];
  maxJwtExpSeconds: number;
  allowGceInference: boolean;
  addGroupAliases: boolean;
  boundZones: string[];
  boundRegions: string[];
  boundInstanceGroups: string[];
  boundLabels: string[];
}

interface ServiceAccount {
  email: string;
  uniqueId: string;
  projectId: string;
}

class LoginError extends Error {
  constructor(readonly outcome: Outcome) { super('login refused'); }
}

const refuse = (message: string): never => { throw new LoginError(fail(400, message)); };

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

export function gcpAuthBackend(now: () => number): Backend {
  let config: GcpConfig = { endpoints: {}, iamAlias: 'role_id', gceAlias: 'role_id' };
  const roles = new Map<string, GcpRole>();
  const nowSeconds = (): number => Math.floor(now() / 1000);

  // ---- config ----
  const writeConfig = (call: Call): Outcome => {
    const d = call.req.data;
    const next: GcpConfig = { ...config, endpoints: { ...config.endpoints } };
    if (hasField(d, 'credentials')) {
      const text = stringField(d, 'credentials');
      if (text === '') delete next.credentials;
      else {
        let creds: Credentials;
        try {
          creds = JSON.parse(text) as Credentials;
        } catch (err) {
          return failWrapped(400, `failed to read credentials: ${(err as Error).message}`);
        }
        if (!creds.private_key_id) return failWrapped(400, 'missing private key in credentials');
        next.credentials = creds;
      }
    }
    if (hasField(d, 'iam_alias')) next.iamAlias = stringField(d, 'iam_alias');
    if (hasField(d, 'gce_alias')) next.gceAlias = stringField(d, 'gce_alias');
    const endpoints = stringMapField(d, 'custom_endpoint');
    if (endpoints) {
      for (const [k, v] of Object.entries(endpoints)) {
        if (!['api', 'iam', 'crm', 'compute'].includes(k)) {
          return failWrapped(400, `invalid custom endpoint type "${k}". Available types are: 'api', 'iam', 'crm', 'compute'`);
        }
        next.endpoints[k] = v;
      }
    }
    config = next;
    return nothing();
  };
  const readConfig = (): Outcome => {
    const data: Record<string, unknown> = {};
    if (config.credentials) {
      data['client_email'] = config.credentials.client_email ?? '';
      data['client_id'] = config.credentials.client_id ?? '';
      data['private_key_id'] = config.credentials.private_key_id ?? '';
      data['project_id'] = config.credentials.project_id ?? '';
    }
    if (config.iamAlias !== 'role_id') data['iam_alias'] = config.iamAlias;
    if (config.gceAlias !== 'role_id') data['gce_alias'] = config.gceAlias;
    if (Object.keys(config.endpoints).length > 0) data['custom_endpoint'] = { ...config.endpoints };
    data['gce_metadata'] = GCE_METADATA_FIELDS;
    data['iam_metadata'] = IAM_METADATA_FIELDS;
    return respond({ data });
  };

  // ---- roles ----
  const writeRole = (call: Call): Outcome => {
    const name = call.params['name']!;
    const d = call.req.data;
    const existing = roles.get(name);
    const type = hasField(d, 'type') ? stringField(d, 'type') : existing?.type ?? '';
    if (existing && type !== existing.type) return fail(400, 'role type cannot be changed for an existing role');
    if (type === '') return fail(400, 'role type cannot be empty');
    if (type !== 'iam' && type !== 'gce') return fail(400, `role type '${type}' is invalid`);
    const role: GcpRole = existing ? { ...existing } : {
      name, type, roleId: newUuid(), boundProjects: [], boundServiceAccounts: [], maxJwtExpSeconds: 15 * 60,
      allowGceInference: true, addGroupAliases: false, boundZones: [], boundRegions: [], boundInstanceGroups: [], boundLabels: [],
      ...defaultTokenParams(),
    };
    if (hasField(d, 'bound_projects') && hasField(d, 'project_id')) return fail(400, "only one of 'bound_projects' or 'project_id' can be given");
    if (hasField(d, 'bound_projects')) role.boundProjects = stringListField(d, 'bound_projects');
    if (hasField(d, 'project_id')) role.boundProjects = stringListField(d, 'project_id');
    if (hasField(d, 'bound_service_accounts')) role.boundServiceAccounts = stringListField(d, 'bound_service_accounts');
    if (hasField(d, 'add_group_aliases')) role.addGroupAliases = boolField(d, 'add_group_aliases', false);
    const tokenProblem = parseTokenFields(role, d, ['policies', 'ttl', 'max_ttl', 'period']);
    if (tokenProblem) return fail(400, tokenProblem);
    if (type === 'iam') {
      if (hasField(d, 'max_jwt_exp')) role.maxJwtExpSeconds = durationField(d, 'max_jwt_exp');
      if (hasField(d, 'allow_gce_inference')) role.allowGceInference = boolField(d, 'allow_gce_inference', true);
      if (role.boundServiceAccounts.length === 0) return fail(400, 'IAM role type must have at least one service account');
      if (role.boundServiceAccounts.includes('*') && role.boundServiceAccounts.length > 1) {
        return fail(400, "cannot provide IAM service account wildcard '*' (for all service accounts) with other service accounts");
      }
      if (role.maxJwtExpSeconds > MAX_JWT_EXP_MAX_SECONDS) return fail(400, 'max_jwt_exp cannot be more than 60 minutes');
    } else {
      if (hasField(d, 'bound_zones') || hasField(d, 'bound_zone')) role.boundZones = stringListField(d, hasField(d, 'bound_zones') ? 'bound_zones' : 'bound_zone');
      if (hasField(d, 'bound_regions') || hasField(d, 'bound_region')) role.boundRegions = stringListField(d, hasField(d, 'bound_regions') ? 'bound_regions' : 'bound_region');
      if (hasField(d, 'bound_instance_groups') || hasField(d, 'bound_instance_group')) {
        role.boundInstanceGroups = stringListField(d, hasField(d, 'bound_instance_groups') ? 'bound_instance_groups' : 'bound_instance_group');
      }
      if (hasField(d, 'bound_labels')) role.boundLabels = stringListField(d, 'bound_labels');
      if (role.boundInstanceGroups.length > 0 && role.boundZones.length === 0 && role.boundRegions.length === 0) {
        return fail(400, 'region or zone information must be specified if an instance group is given');
      }
    }
    if (role.tokenMaxTtlSeconds > 0 && role.tokenTtlSeconds > role.tokenMaxTtlSeconds) return fail(400, 'ttl should be shorter than max_ttl');
    roles.set(name, role);
    // storeRole answers with a response (its warnings, or none) even when there is nothing to say: 200.
    return respond({});
  };
  const roleData = (role: GcpRole): Record<string, unknown> => {
    const data: Record<string, unknown> = { add_group_aliases: role.addGroupAliases, role_id: role.roleId, type: role.type, ...populateTokenData(role) };
    if (role.boundProjects.length > 0) data['bound_projects'] = role.boundProjects;
    if (role.boundServiceAccounts.length > 0) data['bound_service_accounts'] = role.boundServiceAccounts;
    if (role.type === 'iam') {
      data['max_jwt_exp'] = role.maxJwtExpSeconds;
      data['allow_gce_inference'] = role.allowGceInference;
    } else {
      if (role.boundZones.length > 0) data['bound_zones'] = role.boundZones;
      if (role.boundRegions.length > 0) data['bound_regions'] = role.boundRegions;
      if (role.boundInstanceGroups.length > 0) data['bound_instance_groups'] = role.boundInstanceGroups;
      if (role.boundLabels.length > 0) data['bound_labels'] = Object.fromEntries(role.boundLabels.map((l) => l.split(':') as [string, string]));
    }
    return data;
  };

  // ---- Google calls ----
  const endpoint = (kind: 'api' | 'iam' | 'compute', fallback: string): string => config.endpoints[kind] || fallback;

  /** The plugin's own OAuth token: its credentials, else Application Default Credentials. */
  const accessToken = async (): Promise<string> => {
    let key: (Credentials & { token_uri?: string }) | undefined = config.credentials;
    let tokenUri = 'https://oauth2.googleapis.com/token';
    if (!key && process.env['GOOGLE_APPLICATION_CREDENTIALS']) {
      key = JSON.parse(readFileSync(process.env['GOOGLE_APPLICATION_CREDENTIALS'], 'utf8')) as Credentials & { token_uri?: string };
      tokenUri = key.token_uri || tokenUri;
    }
    if (key) {
      const iat = nowSeconds();
      const input = `${b64url(JSON.stringify({ alg: 'RS256', kid: key.private_key_id, typ: 'JWT' }))}.${b64url(JSON.stringify({
        iss: key.client_email, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: tokenUri, exp: iat + 3600, iat,
      }))}`;
      const signer = createSign('RSA-SHA256');
      signer.update(input);
      const assertion = `${input}.${signer.sign(key.private_key ?? '').toString('base64url')}`;
      const reply = await goHttp(tokenUri, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      });
      if (reply.status !== 200) throw new Error(`oauth2: cannot fetch token: ${reply.status}`);
      return (JSON.parse(reply.text) as { access_token: string }).access_token;
    }
    const host = process.env['GCE_METADATA_HOST'];
    if (!host) throw new Error('failed to get default credentials: google: could not find default credentials');
    const reply = await goHttp(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`, { headers: { 'Metadata-Flavor': 'Google' } });
    if (reply.status !== 200) throw new Error(`compute: Received ${reply.status} from the metadata server`);
    return (JSON.parse(reply.text) as { access_token: string }).access_token;
  };

  const googleGet = async (url: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const token = await accessToken();
    const reply = await goHttp(url, { headers: { authorization: `Bearer ${token}` } });
    let json: Record<string, unknown> = {};
    try { json = JSON.parse(reply.text) as Record<string, unknown>; } catch { /* empty */ }
    return { status: reply.status, json };
  };
  const googleError = (r: { status: number; json: Record<string, unknown> }): string => {
    const err = r.json['error'] as { message?: string } | undefined;
    return `googleapi: Error ${r.status}: ${err?.message ?? ''}`.trimEnd();
  };

  const publishedKey = async (url: string, kid: string): Promise<string | undefined> => {
    const reply = await goHttp(url);
    if (reply.status !== 200) return undefined;
    const keys = JSON.parse(reply.text) as Record<string, unknown>;
    const k = keys[kid];
    return typeof k === 'string' ? k : undefined;
  };

  const signingKey = async (jws: Jws, role: GcpRole): Promise<string> => {
    const kid = String(jws.header['kid'] ?? '');
    const api = endpoint('api', DEFAULT_API).replace(/\/$/, '');
    const google = await publishedKey(`${api}/oauth2/v1/certs`, kid).catch(() => undefined);
    if (google) return google;
    const sub = typeof jws.claims['sub'] === 'string' ? jws.claims['sub'] : '';
    if (!sub) refuse("unable to get public key for signed JWT: expected 'sub' claim from JWT");
    if (role.type === 'iam') {
      const url = `${api}/service_accounts/v1/metadata/x509/${encodeURIComponent(sub)}?alt=json`;
      const own = await publishedKey(url, kid).catch(() => undefined);
      if (own) return own;
      refuse(`unable to get public key for signed JWT: unable to get public key "${kid}" for JWT subject "${sub}": service account "${kid}" key "${sub}" not found at GET "${url}"`);
    }
    return refuse(`unable to get public key for signed JWT: unable to get public key "${kid}" for JWT subject "${sub}": no Google OAuth2 provider key found for GCE role`);
  };

  const serviceAccount = async (emailOrId: string): Promise<ServiceAccount> => {
    const base = endpoint('iam', DEFAULT_IAM);
    const r = await googleGet(`${base.endsWith('/') ? base : `${base}/`}v1/projects/-/serviceAccounts/${encodeURIComponent(emailOrId)}?alt=json&prettyPrint=false`);
    if (r.status !== 200) throw new Error(`could not find service account 'projects/-/serviceAccounts/${emailOrId}': ${googleError(r)}`);
    return { email: String(r.json['email'] ?? ''), uniqueId: String(r.json['uniqueId'] ?? ''), projectId: String(r.json['projectId'] ?? '') };
  };

  // ---- login ----
  const login = async (call: Call): Promise<Outcome> => {
    try {
      return await loginChecked(call);
    } catch (err) {
      if (err instanceof LoginError) return err.outcome;
      return failWrapped(500, (err as Error).message);
    }
  };

  const loginChecked = async (call: Call): Promise<Outcome> => {
    const d = call.req.data;
    const roleName = stringField(d, 'role');
    if (roleName === '') return fail(400, 'role is required');
    const role = roles.get(roleName);
    if (!role) return fail(400, `role "${roleName}" not found`);
    if (!hasField(d, 'jwt')) return fail(400, 'jwt argument is required');
    const jws = parseJws(stringField(d, 'jwt'));
    if (typeof jws === 'number') return fail(400, 'unable to parse signed JWT: square/go-jose: compact JWS format must have three parts');
    const key = await signingKey(jws, role);
    if (!rs256Verifies(jws, key)) return fail(400, 'square/go-jose: error in cryptographic primitive');
    const c = jws.claims;
    const exp = typeof c['exp'] === 'number' ? c['exp'] : 0;
    const nowS = nowSeconds();
    if (exp === 0 || exp < nowS - JWT_EXP_TOLERANCE_SECONDS) return fail(400, "JWT is expired or does not have proper 'exp' claim");
    if (exp - nowS > MAX_JWT_EXP_MAX_SECONDS + JWT_EXP_TOLERANCE_SECONDS) return fail(400, `JWT must expire in 60 minutes, expires in ${exp - nowS}s`);
    const sub = typeof c['sub'] === 'string' ? c['sub'] : '';
    if (!sub) return fail(400, "expected JWT to have 'sub' claim with service account id or email");
    const auds = Array.isArray(c['aud']) ? c['aud'].map(String) : typeof c['aud'] === 'string' ? [c['aud']] : [];
    const suffix = `vault/${roleName}`;
    if (auds.some((a) => !a.endsWith(suffix))) return fail(400, `at least one of the JWT claim 'aud' must end in "${suffix}"`);
    const gce = ((c['google'] as Record<string, unknown> | undefined)?.['compute_engine'] as Record<string, unknown> | undefined);
    const gceMeta = gce && typeof gce['instance_id'] === 'string' && gce['instance_id'] !== '' ? gce : undefined;
    if (role.type === 'gce' && !gceMeta) return fail(400, 'expected JWT to have claims with GCE metadata');

    if (role.type === 'iam') {
      if (!role.allowGceInference && gceMeta) return fail(400, `Got GCE token but IAM role "${roleName}" does not allow GCE inference`);
      if (!gceMeta && exp > nowS + role.maxJwtExpSeconds) return fail(400, `role requires that service account JWTs expire within ${role.maxJwtExpSeconds} seconds`);
      const sa = await serviceAccount(sub);
      if (role.boundProjects.length > 0 && !role.boundProjects.includes(sa.projectId)) {
        return fail(400, `service account "${sa.email}" not in bound projects [${role.boundProjects.join(' ')}]`);
      }
      if (!(role.boundServiceAccounts.length === 1 && role.boundServiceAccounts[0] === '*')
        && !role.boundServiceAccounts.includes(sa.email) && !role.boundServiceAccounts.includes(sa.uniqueId)) {
        return fail(400, `service account ${sa.email} (id: ${sa.uniqueId}) is not authorized for role`);
      }
      return issueLoginToken(call, call.mount, role, {
        renewFrom: renewWithParams(() => roles.get(roleName), `role "${roleName}" no longer exists`),
        aliasName: config.iamAlias === 'unique_id' ? sa.uniqueId : role.roleId, displayName: sa.email,
        metadata: { project_id: sa.projectId, role: roleName, service_account_email: sa.email, service_account_id: sa.uniqueId },
      });
    }

    const meta = gceMeta!;
    const projectId = String(meta['project_id'] ?? '');
    const instanceId = String(meta['instance_id']);
    if (role.boundProjects.length > 0 && !role.boundProjects.includes(projectId)) {
      return fail(400, `instance "${instanceId}" (project "${projectId}") not in bound projects [${role.boundProjects.join(' ')}]`);
    }
    const zone = String(meta['zone'] ?? '');
    const instanceName = String(meta['instance_name'] ?? '');
    const computeBase = endpoint('compute', DEFAULT_COMPUTE);
    const inst = await googleGet(`${computeBase.endsWith('/') ? computeBase : `${computeBase}/`}projects/${projectId}/zones/${zone}/instances/${instanceName}?alt=json&prettyPrint=false`);
    const instanceProblem = (what: string): Outcome => fail(400, `error when attempting to find instance (project ${projectId}, zone: ${zone}, instance: ${instanceName}) :${what}`);
    if (inst.status !== 200) return instanceProblem(`unable to find instance associated with token: ${googleError(inst)}`);
    const status = String(inst.json['status'] ?? '');
    if (!['PROVISIONING', 'RUNNING', 'STAGING'].includes(status)) {
      return instanceProblem(`authenticating instance ${String(inst.json['name'] ?? '')} found but has invalid status '${status}'`);
    }
    const createdAt = Number(meta['instance_creation_timestamp'] ?? 0);
    const actual = Date.parse(String(inst.json['creationTimestamp'] ?? ''));
    if (Number.isNaN(actual)) return instanceProblem(`instance 'creationTimestamp' field could not be parsed into time: ${String(inst.json['creationTimestamp'] ?? '')}`);
    if (createdAt - actual / 1000 < -1) return instanceProblem(`metadata instance_creation_timestamp ${Math.floor(actual / 1000)} is before instance's creation time ${createdAt}`);
    const instZone = String(inst.json['zone'] ?? '').split('/').pop() ?? '';
    if (role.boundZones.length > 0 && !role.boundZones.includes(instZone)) return fail(400, `instance not in bound zones ["${role.boundZones.join('" "')}"]`);
    const region = instZone.replace(/-[a-z]$/, '');
    if (role.boundRegions.length > 0 && !role.boundRegions.includes(region)) return fail(400, `instance not in bound regions ["${role.boundRegions.join('" "')}"]`);
    const labels = (inst.json['labels'] ?? {}) as Record<string, string>;
    for (const l of role.boundLabels) {
      const [k, v] = l.split(':');
      if (labels[k!] !== v) return fail(400, `instance missing bound label "${k}:${v}"`);
    }
    if (role.boundInstanceGroups.length > 0) return failWrapped(500, 'vault-sim: bound_instance_groups are not simulated');
    if (role.boundServiceAccounts.length > 0) {
      const sa = await serviceAccount(sub).catch((err: Error) => refuse(`could not find service account "${sub}": ${err.message}`));
      if (!role.boundServiceAccounts.includes(sa.email) && !role.boundServiceAccounts.includes(sa.uniqueId)) {
        return fail(400, `service account "${sa.uniqueId}" ("${sa.email}") is not in bound service accounts ["${role.boundServiceAccounts.join('" "')}"]`);
      }
    }
    let sa: ServiceAccount;
    try {
      sa = await serviceAccount(sub);
    } catch (err) {
      return fail(400, `Could not find service account "${sub}" used for GCE metadata token: ${(err as Error).message}`);
    }
    return issueLoginToken(call, call.mount, role, {
      renewFrom: renewWithParams(() => roles.get(roleName), `role "${roleName}" no longer exists`),
      aliasName: config.gceAlias === 'instance_id' ? instanceId : role.roleId, displayName: String(inst.json['name'] ?? instanceName),
      metadata: {
        instance_creation_timestamp: String(createdAt), instance_id: instanceId, instance_name: instanceName, project_id: projectId,
        project_number: String(meta['project_number'] ?? ''), role: roleName, service_account_email: sa.email,
        service_account_id: sa.uniqueId, zone,
      },
    });
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    {
      pattern: 'config',
      ops: {
        read: readConfig, update: writeConfig,
        delete: () => { config = { endpoints: {}, iamAlias: 'role_id', gceAlias: 'role_id' }; return nothing(); },
      },
    },
    { pattern: 'roles/', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    ...roleRoutes(roles, writeRole, roleData),
  ]);
}
