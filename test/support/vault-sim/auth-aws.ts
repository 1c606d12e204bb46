// The aws auth method (builtin/credential/aws in Vault 1.15): config/client, config/certificate,
// roles, and login for both auth types.
//
// - iam: the login carries a signed sts:GetCallerIdentity request. Like Vault, the simulator sends
//   it to the configured sts_endpoint (default https://sts.amazonaws.com) with the client's Host,
//   path, headers and body, and takes the caller's ARN from STS's XML answer; the role's
//   bound_iam_principal_arn must name it (canonical ARN). X-Vault-AWS-IAM-Server-ID is checked
//   (present, equal, signed) when iam_server_id_header_value is set.
// - ec2: the instance identity document's RSA-SHA256 signature is checked against the
//   certificates registered at config/certificate/<name> with type = "identity" (AWS's own public
//   certificates are not built in); then, as Vault does, the simulator asks STS who its own
//   config/client keys belong to (the document's account must be that one) and EC2
//   DescribeInstances (at `endpoint`) whether the instance is running, both SigV4-signed with
//   those keys; the nonce of the instance's first login is kept in the identity access list and
//   required afterwards.
//
// Not simulated (each refused with a message that says so): resolve_aws_unique_ids = true and
// wildcard principal ARNs (Vault asks IAM GetUser/GetRole), inferred_entity_type, role tags, pkcs7
// documents, Vault's own credential chain (ec2 logins need access_key/secret_key in config/client),
// config/sts roles, and the bounds read from DescribeInstances' details (bound_vpc_id,
// bound_subnet_id, bound_iam_role_arn, bound_iam_instance_profile_arn).
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import http from 'node:http';
import https from 'node:https';
import { NodeSha256 } from '../../../src/worker/auth/node-sha256.js';
import { boolField, hasField, intField, stringField, stringListField } from './fields.js';
import { newUuid } from './ids.js';
import { backendOf } from './router.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface ClientConfig {
  accessKey: string;
  secretKey: string;
  endpoint: string;
  iamEndpoint: string;
  stsEndpoint: string;
  stsRegion: string;
  useStsRegionFromClient: boolean;
  iamServerIdHeaderValue: string;
  allowedStsHeaderValues: string[];
  maxRetries: number;
}

interface AwsRole extends TokenParams {
  readonly name: string;
  roleId: string;
  authType: 'iam' | 'ec2';
  boundAmiIds: string[];
  boundAccountIds: string[];
  boundRegions: string[];
  boundEc2InstanceIds: string[];
  boundIamPrincipalArns: string[];
  boundVpcIds: string[];
  boundSubnetIds: string[];
  boundIamRoleArns: string[];
  boundIamInstanceProfileArns: string[];
  resolveAwsUniqueIds: boolean;
  disallowReauthentication: boolean;
  allowInstanceMigration: boolean;
}

interface AccessListEntry {
  clientNonce: string;
  pendingTime: string;
  disallowReauthentication: boolean;
}

const DEFAULT_ALLOWED_STS_HEADERS = [
  'X-Amz-Algorithm', 'X-Amz-Content-Sha256', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Security-Token',
  'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-User-Agent',
];
const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
const REAUTH_DISABLED_NONCE = 'reauthentication-disabled-nonce';

/** textproto.CanonicalMIMEHeaderKey. */
function canonicalHeader(name: string): string {
  return name.toLowerCase().split('-').map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : p)).join('-');
}

function defaultClientConfig(): ClientConfig {
  return {
    accessKey: '', secretKey: '', endpoint: '', iamEndpoint: '', stsEndpoint: '', stsRegion: '', useStsRegionFromClient: false,
    iamServerIdHeaderValue: '', allowedStsHeaderValues: [], maxRetries: -1,
  };
}

/** framework.TypeHeader: a base64 JSON object, or a JSON object; values a string or a list. */
function headerField(v: unknown): Record<string, string[]> | string {
  let obj: unknown = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(Buffer.from(v, 'base64').toString('utf8'));
    } catch {
      try {
        obj = JSON.parse(v);
      } catch {
        return 'failed to parse iam_request_headers';
      }
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'iam_request_headers must be an object';
  const out: Record<string, string[]> = {};
  for (const [k, val] of Object.entries(obj as Record<string, unknown>)) {
    const key = canonicalHeader(k);
    const list = Array.isArray(val) ? val.map(String) : [String(val)];
    (out[key] ??= []).push(...list);
  }
  return out;
}

interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

interface IamEntity {
  partition: string;
  accountNumber: string;
  type: string;
  friendlyName: string;
  sessionInfo: string;
}

/** parseIamArn. */
function parseIamArn(arn: string): IamEntity | string {
  const full = arn.split(':');
  if (full.length !== 6) return `unrecognized arn: contains ${full.length} colon-separated parts, expected 6`;
  if (full[0] !== 'arn') return 'unrecognized arn: does not begin with "arn:"';
  if (full[2] !== 'iam' && full[2] !== 'sts') return `unrecognized service: ${full[2]}, not one of iam or sts`;
  const parts = full[5]!.split('/');
  if (parts.length < 2) return `unrecognized arn: "${full[5]}" contains fewer than 2 slash-separated parts`;
  const entity: IamEntity = { partition: full[1]!, accountNumber: full[4]!, type: parts[0]!, friendlyName: parts[parts.length - 1]!, sessionInfo: '' };
  if (entity.type === 'assumed-role') {
    if (parts.length < 3) return `unrecognized arn: "${full[5]}" contains fewer than 3 slash-separated parts`;
    entity.friendlyName = parts[1]!;
    entity.sessionInfo = parts[2]!;
  } else if (!['user', 'role', 'instance-profile'].includes(entity.type)) {
    return `unrecognized principal type: "${entity.type}"`;
  }
  return entity;
}

function canonicalArn(e: IamEntity): string {
  return `arn:${e.partition}:iam::${e.accountNumber}:${e.type === 'assumed-role' ? 'role' : e.type}/${e.friendlyName}`;
}

/** submitCallerIdentityRequest: the client's request, sent to `endpoint` with the client's Host. */
function submitCallerIdentity(endpoint: string, url: URL, method: string, body: string, headers: Record<string, string[]>): Promise<CallerIdentity | string> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(`${endpoint}/${url.pathname}${url.search}`);
    } catch {
      resolve(`error making request: bad sts_endpoint ${endpoint}`);
      return;
    }
    const outHeaders: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'host' && k.toLowerCase() !== 'content-length') outHeaders[k] = v;
    outHeaders['Host'] = url.host;
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, { method, headers: outHeaders, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.headers['content-type'] !== 'text/xml') return resolve('error making request: invalid GetCallerIdentity response');
        if (res.statusCode !== 200) return resolve(`received error code ${res.statusCode} from STS: ${text}`);
        const pick = (tag: string): string => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1] ?? '';
        const trimmed = text.trim();
        if (!trimmed.startsWith('<GetCallerIdentityResponse') && !trimmed.startsWith('<?xml')) return resolve('error parsing STS response');
        resolve({ arn: pick('Arn'), userId: pick('UserId'), account: pick('Account') });
      });
      res.on('error', (err) => resolve(`error making request: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`error making request: ${err.message}`));
    req.end(body);
  });
}

/** An AWS query API call made with Vault's own config/client keys: SigV4-signed POST, the XML answer. */
async function awsQuery(endpoint: string, service: string, region: string, keys: { accessKey: string; secretKey: string }, form: string): Promise<{ status: number; text: string } | string> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `bad endpoint ${endpoint}`;
  }
  const signer = new SignatureV4({ service, region, sha256: NodeSha256, applyChecksum: false, credentials: { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey } });
  const signed = await signer.sign({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, path: url.pathname || '/', query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: form,
  });
  return new Promise((resolve) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: 'POST', headers: signed.headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve(err.message));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.message));
    req.end(form);
  });
}

function xmlValue(text: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
}

function applyRoleFields(role: AwsRole, call: Call, creating: boolean): string | undefined {
  const d = call.req.data;
  if (hasField(d, 'auth_type')) {
    const t = stringField(d, 'auth_type');
    if (t !== 'iam' && t !== 'ec2') return `unrecognized auth_type: ${t}`;
    if (!creating && t !== role.authType) return 'changing auth_type on a role is not allowed';
    role.authType = t;
  }
  const lists: Array<[keyof AwsRole, string]> = [
    ['boundAmiIds', 'bound_ami_id'], ['boundAccountIds', 'bound_account_id'], ['boundRegions', 'bound_region'],
    ['boundEc2InstanceIds', 'bound_ec2_instance_id'], ['boundIamPrincipalArns', 'bound_iam_principal_arn'], ['boundVpcIds', 'bound_vpc_id'],
    ['boundSubnetIds', 'bound_subnet_id'], ['boundIamRoleArns', 'bound_iam_role_arn'], ['boundIamInstanceProfileArns', 'bound_iam_instance_profile_arn'],
  ];
  for (const [key, field] of lists) if (hasField(d, field)) (role[key] as string[]) = stringListField(d, field);
  if (hasField(d, 'inferred_entity_type') && stringField(d, 'inferred_entity_type') !== '') return 'vault-sim: inferred_entity_type is not simulated (it needs the EC2 API)';
  if (hasField(d, 'role_tag') && stringField(d, 'role_tag') !== '') return 'vault-sim: role_tag is not simulated (it needs the EC2 API)';
  if (hasField(d, 'resolve_aws_unique_ids')) {
    const v = boolField(d, 'resolve_aws_unique_ids', true);
    if (!creating && role.resolveAwsUniqueIds && !v) return 'changing resolve_aws_unique_ids from true to false is not allowed';
    role.resolveAwsUniqueIds = v;
  }
  const ec2 = role.authType === 'ec2';
  const ec2Binds: Array<[string[], string]> = [
    [role.boundAccountIds, 'bound_account_id'], [role.boundAmiIds, 'bound_ami_id'], [role.boundIamInstanceProfileArns, 'bound_iam_instance_profile_arn'],
    [role.boundEc2InstanceIds, 'bound_ec2_instance_id'], [role.boundIamRoleArns, 'bound_iam_role_arn'], [role.boundVpcIds, 'bound_vpc_id'], [role.boundSubnetIds, 'bound_subnet_id'],
  ];
  let binds = 0;
  for (const [list, field] of ec2Binds) {
    if (list.length === 0) continue;
    if (!ec2) return `specified ${field} but not specifying ec2 auth_type or inferring ec2_instance`;
    binds++;
  }
  if (role.boundRegions.length > 0) {
    if (!ec2) return 'specified bound_region but not specifying ec2 auth_type';
    binds++;
  }
  if (role.boundIamPrincipalArns.length > 0) {
    if (ec2) return 'specified bound_iam_principal_arn but not specifying iam auth_type';
    binds++;
  }
  if (binds === 0) return 'at least one bound parameter should be specified on the role';
  if (hasField(d, 'disallow_reauthentication')) {
    if (!ec2) return 'specified disallow_reauthentication when not using ec2 auth type';
    role.disallowReauthentication = boolField(d, 'disallow_reauthentication', false);
  }
  if (hasField(d, 'allow_instance_migration')) {
    if (!ec2) return 'specified allow_instance_migration when not using ec2 auth type';
    role.allowInstanceMigration = boolField(d, 'allow_instance_migration', false);
  }
  if (role.allowInstanceMigration && role.disallowReauthentication) return 'cannot specify both disallow_reauthentication=true and allow_instance_migration=true';
  if (role.resolveAwsUniqueIds && role.boundIamPrincipalArns.length > 0) {
    return 'vault-sim: resolve_aws_unique_ids = true is not simulated (Vault resolves the ARN with IAM GetUser/GetRole); set it to false';
  }
  const tokenProblem = parseTokenFields(role, d, ['policies', 'ttl', 'max_ttl', 'period']);
  if (tokenProblem) return tokenProblem;
  if (role.tokenMaxTtlSeconds > 0 && role.tokenTtlSeconds > role.tokenMaxTtlSeconds) return 'ttl should be shorter than max ttl';
  return undefined;
}

function roleData(r: AwsRole): Record<string, unknown> {
  return {
    auth_type: r.authType,
    bound_ami_id: r.boundAmiIds,
    bound_account_id: r.boundAccountIds,
    bound_region: r.boundRegions,
    bound_ec2_instance_id: r.boundEc2InstanceIds,
    bound_iam_principal_arn: r.boundIamPrincipalArns,
    bound_iam_principal_id: [],
    bound_iam_role_arn: r.boundIamRoleArns,
    bound_iam_instance_profile_arn: r.boundIamInstanceProfileArns,
    bound_subnet_id: r.boundSubnetIds,
    bound_vpc_id: r.boundVpcIds,
    inferred_aws_region: '',
    inferred_entity_type: '',
    resolve_aws_unique_ids: r.resolveAwsUniqueIds,
    role_tag: '',
    role_id: r.roleId,
    allow_instance_migration: r.allowInstanceMigration,
    disallow_reauthentication: r.disallowReauthentication,
    ...populateTokenData(r),
  };
}

export function awsAuthBackend(_now: () => number): Backend {
  let client: ClientConfig | undefined;
  const certificates = new Map<string, { cert: string; type: 'pkcs7' | 'identity' }>();
  const roles = new Map<string, AwsRole>();
  const accessList = new Map<string, AccessListEntry>();
  /** b.defaultAWSAccountID: the account of Vault's own keys, asked of STS once per client config. */
  let defaultAccount = '';
  const roleOf = (call: Call): AwsRole | undefined => roles.get((call.params['role'] ?? '').toLowerCase());

  const writeClient = (call: Call): Outcome => {
    const d = call.req.data;
    const c = client ? { ...client } : defaultClientConfig();
    const strings: Array<[keyof ClientConfig, string]> = [
      ['accessKey', 'access_key'], ['secretKey', 'secret_key'], ['endpoint', 'endpoint'], ['iamEndpoint', 'iam_endpoint'],
      ['stsEndpoint', 'sts_endpoint'], ['stsRegion', 'sts_region'], ['iamServerIdHeaderValue', 'iam_server_id_header_value'],
    ];
    for (const [key, field] of strings) if (hasField(d, field)) (c[key] as string) = stringField(d, field);
    if (hasField(d, 'use_sts_region_from_client')) c.useStsRegionFromClient = boolField(d, 'use_sts_region_from_client', false);
    if (hasField(d, 'allowed_sts_header_values')) c.allowedStsHeaderValues = stringListField(d, 'allowed_sts_header_values').map(canonicalHeader);
    if (hasField(d, 'max_retries')) c.maxRetries = intField(d, 'max_retries', -1);
    client = c;
    defaultAccount = '';
    return nothing();
  };

  const writeCertificate = (call: Call): Outcome => {
    const name = call.params['cert_name'] ?? '';
    const d = call.req.data;
    const existing = certificates.get(name);
    const type = hasField(d, 'type') ? stringField(d, 'type').toLowerCase() : existing?.type ?? 'pkcs7';
    if (type !== 'pkcs7' && type !== 'identity') return fail(400, `invalid certificate type "${type}"`);
    if (!hasField(d, 'aws_public_cert')) return fail(400, 'missing aws_public_cert');
    const raw = stringField(d, 'aws_public_cert');
    const decoded = /^[A-Za-z0-9+/=\s]+$/.test(raw) ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const pem = decoded.includes('-----BEGIN') ? decoded : raw;
    if (pem === '') return fail(400, 'invalid aws_public_cert');
    try {
      new X509Certificate(pem);
    } catch (err) {
      return failWrapped(500, `x509: ${(err as Error).message}`);
    }
    certificates.set(name, { cert: pem, type });
    return nothing();
  };

  const writeRole = (call: Call): Outcome => {
    const name = (call.params['role'] ?? '').toLowerCase();
    const existing = roles.get(name);
    const creating = !existing;
    const role: AwsRole = existing ? { ...existing } : {
      name, roleId: newUuid(), authType: 'iam', boundAmiIds: [], boundAccountIds: [], boundRegions: [], boundEc2InstanceIds: [],
      boundIamPrincipalArns: [], boundVpcIds: [], boundSubnetIds: [], boundIamRoleArns: [], boundIamInstanceProfileArns: [],
      resolveAwsUniqueIds: true, disallowReauthentication: false, allowInstanceMigration: false, ...defaultTokenParams(),
    };
    const problem = applyRoleFields(role, call, creating);
    if (problem) return fail(400, problem);
    roles.set(name, role);
    return nothing();
  };

  // The default alias (iam_alias and ec2_alias) is the role ID.
  const issue = (call: Call, role: AwsRole, displayName: string, metadata: Record<string, string>): Outcome => issueLoginToken(call, call.mount, role, {
    displayName, metadata, aliasName: role.roleId, renewFrom: renewWithParams(() => roles.get(role.name), 'role entry not found'),
  });

  const loginIam = async (call: Call): Promise<Outcome> => {
    const d = call.req.data;
    const method = stringField(d, 'iam_http_request_method');
    if (method === '') return fail(400, 'missing iam_http_request_method');
    if (method !== 'GET' && method !== 'POST') return fail(400, "invalid iam_http_request_method; currently only 'GET' and 'POST' are supported");
    const rawUrlB64 = stringField(d, 'iam_request_url');
    if (rawUrlB64 === '') return fail(400, 'missing iam_request_url');
    let url: URL;
    try {
      url = new URL(Buffer.from(rawUrlB64, 'base64').toString('utf8'));
    } catch {
      return fail(400, 'error parsing iam_request_url');
    }
    if (method === 'POST' && url.search !== '') return fail(400, 'invalid request');
    if (method === 'GET' && url.searchParams.getAll('Action').join() !== 'GetCallerIdentity') return fail(400, 'unexpected action parameter');
    const bodyB64 = stringField(d, 'iam_request_body');
    if (bodyB64 === '' && method !== 'GET') return fail(400, 'missing iam_request_body which is required for POST requests');
    const body = Buffer.from(bodyB64, 'base64').toString('utf8');
    for (const [k, v] of new URLSearchParams(body)) {
      if (k === 'Version') continue;
      if (k !== 'Action' || v !== 'GetCallerIdentity') return fail(400, 'iam request body is invalid');
    }
    const headers = headerField(d['iam_request_headers'] ?? '');
    if (typeof headers === 'string') return fail(400, headers);
    if (Object.keys(headers).length === 0) return fail(400, 'missing iam_request_headers');
    let endpoint = 'https://sts.amazonaws.com';
    if (client) {
      if (client.iamServerIdHeaderValue !== '') {
        const provided = (headers[canonicalHeader(IAM_SERVER_ID_HEADER)] ?? []).join(',');
        const problem = provided === '' ? `missing header "${IAM_SERVER_ID_HEADER}"`
          : provided !== client.iamServerIdHeaderValue ? `expected "${client.iamServerIdHeaderValue}" but got "${provided}"`
            : !/SignedHeaders=([^,]+)/.exec((headers['Authorization'] ?? []).join(','))?.[1]?.split(';').includes(IAM_SERVER_ID_HEADER.toLowerCase())
              ? 'vault header wasn\'t signed' : undefined;
        if (problem) return fail(400, `error validating ${IAM_SERVER_ID_HEADER} header: ${problem}`);
      }
      for (const k of Object.keys(headers)) {
        const h = k === 'X-Amz-Signedheaders' ? 'X-Amz-SignedHeaders' : k;
        if (h.startsWith('X-Amz-') && !DEFAULT_ALLOWED_STS_HEADERS.includes(h) && !client.allowedStsHeaderValues.includes(h)) {
          return fail(400, `invalid request header: ${k}`);
        }
      }
      if (client.stsEndpoint !== '') endpoint = client.stsEndpoint;
    }
    const caller = await submitCallerIdentity(endpoint, url, method, body, headers);
    if (typeof caller === 'string') return fail(400, `error making upstream request: ${caller}`);
    const entity = parseIamArn(caller.arn);
    if (typeof entity === 'string') return fail(400, `error parsing arn "${caller.arn}": ${entity}`);
    const roleName = stringField(d, 'role') || entity.friendlyName;
    const role = roles.get(roleName.toLowerCase());
    if (!role) return fail(400, `entry for role ${roleName} not found`);
    if (role.authType !== 'iam') return fail(400, `auth method iam not allowed for role ${roleName}`);
    if (role.boundIamPrincipalArns.length > 0 && !role.boundIamPrincipalArns.includes(canonicalArn(entity))) {
      if (role.boundIamPrincipalArns.some((a) => a.endsWith('*'))) {
        return fail(400, 'vault-sim: wildcard bound_iam_principal_arn is not simulated (Vault looks the full ARN up with IAM)');
      }
      return fail(400, `IAM Principal "${caller.arn}" does not belong to the role "${roleName}"`);
    }
    return issue(call, role, entity.type === 'assumed-role' ? `${entity.friendlyName}/${entity.sessionInfo}` : entity.friendlyName, {
      account_id: entity.accountNumber, auth_type: 'iam', role_id: role.roleId,
    });
  };

  /** validateInstance: clientEC2 (the account check through STS), then DescribeInstances; an error text or undefined. */
  const validateInstance = async (instanceId: string, region: string, accountId: string): Promise<string | undefined> => {
    if (!client || client.accessKey === '' || client.secretKey === '') {
      return 'vault-sim: ec2 logins need access_key and secret_key in config/client (Vault would fall back to its own credential chain)';
    }
    const keys = { accessKey: client.accessKey, secretKey: client.secretKey };
    if (defaultAccount === '') {
      const sts = await awsQuery(client.stsEndpoint || 'https://sts.amazonaws.com', 'sts', client.stsRegion || region, keys, 'Action=GetCallerIdentity&Version=2011-06-15');
      if (typeof sts === 'string' || sts.status !== 200) return `unable to fetch current caller: ${typeof sts === 'string' ? sts : xmlValue(sts.text, 'Code') ?? sts.status}`;
      defaultAccount = xmlValue(sts.text, 'Account') ?? '';
    }
    if (defaultAccount !== accountId) return `unable to fetch client for account ID "${accountId}" -- default client is for account "${defaultAccount}"`;
    const ec2 = await awsQuery(client.endpoint || `https://ec2.${region}.amazonaws.com`, 'ec2', region, keys,
      `Action=DescribeInstances&InstanceId.1=${encodeURIComponent(instanceId)}&Version=2016-11-15`);
    if (typeof ec2 === 'string') return `error fetching description for instance ID "${instanceId}": ${ec2}`;
    if (ec2.status !== 200) return `error fetching description for instance ID "${instanceId}": ${xmlValue(ec2.text, 'Code') ?? ec2.status}: ${xmlValue(ec2.text, 'Message') ?? ''}`;
    if (!ec2.text.includes('<reservationSet>') || !/<reservationSet>\s*<item>/.test(ec2.text)) return 'no reservations found in instance description';
    if (xmlValue(ec2.text, 'instanceId') !== instanceId) return 'expected instance ID not matching the instance ID in the instance description';
    const state = /<instanceState>[\s\S]*?<name>([^<]*)<\/name>/.exec(ec2.text)?.[1];
    if (state === undefined) return 'instance state in instance description is nil';
    if (state !== 'running') return "instance is not in 'running' state";
    return undefined;
  };

  const loginEc2 = async (call: Call): Promise<Outcome> => {
    const d = call.req.data;
    if (stringField(d, 'pkcs7') !== '') return fail(400, 'vault-sim: pkcs7 identity documents are not simulated; send identity and signature');
    const identityBytes = Buffer.from(stringField(d, 'identity'), 'base64');
    if (identityBytes.length === 0) return fail(400, 'failed to base64 decode the instance identity document');
    const signature = Buffer.from(stringField(d, 'signature').replace(/\s+/g, ''), 'base64');
    if (signature.length === 0) return failWrapped(500, 'missing SHA256 RSA signature of the instance identity document');
    const certs = [...certificates.values()].filter((c) => c.type === 'identity');
    const verified = certs.some((c) => {
      try {
        return verify('sha256', identityBytes, createPublicKey(new X509Certificate(c.cert).publicKey.export({ format: 'pem', type: 'spki' })), signature);
      } catch {
        return false;
      }
    });
    if (!verified) return failWrapped(500, 'instance identity verification using SHA256 RSA signature is unsuccessful');
    let doc: { instanceId?: string; imageId?: string; accountId?: string; region?: string; pendingTime?: string };
    try {
      doc = JSON.parse(identityBytes.toString('utf8')) as typeof doc;
    } catch (err) {
      return failWrapped(500, (err as Error).message);
    }
    const roleName = stringField(d, 'role') || (doc.imageId ?? '');
    const role = roles.get(roleName.toLowerCase());
    if (!role) return fail(400, `entry for role "${roleName}" not found`);
    if (role.authType !== 'ec2') return fail(400, `auth method ec2 not allowed for role ${roleName}`);
    const instanceId = doc.instanceId ?? '';
    const invalid = await validateInstance(instanceId, doc.region ?? '', doc.accountId ?? '');
    if (invalid) return fail(400, `failed to verify instance ID: ${invalid}`);
    if (role.boundRegions.length > 0 && !role.boundRegions.includes(doc.region ?? '')) {
      return fail(400, `Region "${doc.region ?? ''}" does not satisfy the constraint on role "${roleName}"`);
    }
    if (role.boundEc2InstanceIds.length > 0 && !role.boundEc2InstanceIds.includes(instanceId)) {
      return fail(400, `Error validating instance: instance ID "${instanceId}" does not belong to the role "${roleName}"`);
    }
    if (role.boundAccountIds.length > 0 && !role.boundAccountIds.includes(doc.accountId ?? '')) {
      return fail(400, `Error validating instance: account ID "${doc.accountId ?? ''}" does not belong to role "${roleName}"`);
    }
    if (role.boundAmiIds.length > 0 && !role.boundAmiIds.includes(doc.imageId ?? '')) {
      return fail(400, `Error validating instance: AMI ID "${doc.imageId ?? ''}" does not belong to role "${roleName}"`);
    }
    if (role.boundVpcIds.length + role.boundSubnetIds.length + role.boundIamRoleArns.length + role.boundIamInstanceProfileArns.length > 0) {
      return fail(400, 'vault-sim: VPC, subnet and IAM role/profile bounds are not simulated (Vault reads them with EC2 DescribeInstances)');
    }
    const stored = accessList.get(instanceId);
    let disallow = role.disallowReauthentication;
    const nonceSupplied = hasField(d, 'nonce');
    let clientNonce = nonceSupplied ? stringField(d, 'nonce') : '';
    if (nonceSupplied && clientNonce === '') {
      clientNonce = REAUTH_DISABLED_NONCE;
      disallow = true;
    }
    if (stored) {
      if (!stored.disallowReauthentication && stored.clientNonce === '') return fail(400, 'client nonce missing in stored identity');
      if (stored.disallowReauthentication || clientNonce === REAUTH_DISABLED_NONCE) return fail(400, 'reauthentication is disabled');
      const given = Date.parse(doc.pendingTime ?? '');
      const before = Date.parse(stored.pendingTime);
      if (Number.isNaN(given) || Number.isNaN(before)) return failWrapped(500, `parsing time "${doc.pendingTime ?? ''}" as RFC3339`);
      if (clientNonce !== stored.clientNonce) {
        if (!role.allowInstanceMigration) return fail(400, 'client nonce mismatch');
        if (!(given > before)) return fail(400, 'client nonce mismatch and instance meta-data incorrect');
      }
      if (given < before) return fail(400, 'instance meta-data is older than the one used for previous login');
      disallow = disallow || stored.disallowReauthentication;
    }
    if (!nonceSupplied) clientNonce = newUuid();
    if (clientNonce.length > 128 && !disallow) return fail(400, 'client nonce exceeding the limit of 128 characters');
    accessList.set(instanceId, {
      // Once set, the entry's nonce never changes (a migration keeps the first one too).
      clientNonce: disallow ? '' : stored?.clientNonce ?? clientNonce,
      pendingTime: doc.pendingTime ?? '',
      disallowReauthentication: disallow,
    });
    const meta: Record<string, string> = { role_tag_max_ttl: '0s', role: roleName, account_id: doc.accountId ?? '', auth_type: 'ec2' };
    if (!disallow && !nonceSupplied) meta['nonce'] = clientNonce;
    return issue(call, role, instanceId, meta);
  };

  const login = (call: Call): Outcome | Promise<Outcome> => {
    const d = call.req.data;
    const anyEc2 = hasField(d, 'pkcs7') || hasField(d, 'identity') || hasField(d, 'signature');
    const allEc2 = hasField(d, 'pkcs7') || (hasField(d, 'identity') && hasField(d, 'signature'));
    const method = stringField(d, 'iam_http_request_method');
    const anyIam = ['iam_http_request_method', 'iam_request_url', 'iam_request_body', 'iam_request_headers'].some((f) => hasField(d, f));
    const allIam = hasField(d, 'iam_http_request_method') && hasField(d, 'iam_request_url')
      && (method === 'GET' || hasField(d, 'iam_request_body')) && hasField(d, 'iam_request_headers');
    if (anyEc2 && anyIam) return fail(400, 'supplied auth values for both ec2 and iam auth types');
    if (anyEc2 && !allEc2) return fail(400, 'supplied some of the auth values for the ec2 auth type but not all');
    if (anyEc2) return loginEc2(call);
    if (anyIam && !allIam) return fail(400, 'supplied some of the auth values for the iam auth type but not all');
    if (anyIam) return loginIam(call);
    return fail(400, "didn't supply required authentication values");
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    {
      pattern: 'config/client',
      ops: {
        read: () => (client ? respond({
          data: {
            access_key: client.accessKey, endpoint: client.endpoint, iam_endpoint: client.iamEndpoint, sts_endpoint: client.stsEndpoint,
            sts_region: client.stsRegion, use_sts_region_from_client: client.useStsRegionFromClient,
            iam_server_id_header_value: client.iamServerIdHeaderValue, max_retries: client.maxRetries,
            allowed_sts_header_values: client.allowedStsHeaderValues.length > 0 ? client.allowedStsHeaderValues : null,
          },
        }) : nothing()),
        create: writeClient,
        update: writeClient,
        delete: () => { client = undefined; defaultAccount = ''; return nothing(); },
      },
      exists: () => client !== undefined,
    },
    { pattern: 'config/certificates', ops: { list: () => respond({ data: { keys: [...certificates.keys()].sort() } }) } },
    {
      pattern: 'config/certificate/:cert_name',
      ops: {
        read: (call) => {
          const c = certificates.get(call.params['cert_name'] ?? '');
          return c ? respond({ data: { aws_public_cert: c.cert, type: c.type } }) : nothing();
        },
        create: writeCertificate,
        update: writeCertificate,
        delete: (call) => { certificates.delete(call.params['cert_name'] ?? ''); return nothing(); },
      },
      exists: (call) => certificates.has(call.params['cert_name'] ?? ''),
    },
    { pattern: 'roles', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    { pattern: 'role', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'role/:role',
      ops: {
        read: (call) => { const r = roleOf(call); return r ? respond({ data: roleData(r) }) : nothing(); },
        create: writeRole,
        update: writeRole,
        delete: (call) => { const r = roleOf(call); if (r) roles.delete(r.name); return nothing(); },
      },
      exists: (call) => roleOf(call) !== undefined,
    },
    {
      pattern: 'identity-accesslist/:instance_id',
      ops: {
        read: (call) => {
          const e = accessList.get(call.params['instance_id'] ?? '');
          return e ? respond({ data: { pending_time: e.pendingTime, disallow_reauthentication: e.disallowReauthentication } }) : nothing();
        },
        delete: (call) => { accessList.delete(call.params['instance_id'] ?? ''); return nothing(); },
      },
    },
  ]);
}
