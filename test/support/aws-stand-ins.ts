// Local stand-ins for what the aws auth method talks to outside: AWS's query APIs (STS
// GetCallerIdentity, EC2 DescribeInstances) that Vault's aws plugin is pointed at through
// auth/aws/config/client (sts_endpoint, endpoint), and the EC2 instance metadata service that
// vault-extproc is pointed at through AWS_EC2_METADATA_SERVICE_ENDPOINT. Loopback HTTP only.
//
// The API stand-in checks every SigV4 signature with @smithy/signature-v4 (the signer the client
// uses too): the request is rebuilt from what arrived (method, path, the signed headers, body),
// signed again with the secret key the stand-in knows for the access key named in the
// Authorization header, and the two signatures must be equal.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/worker/auth/node-sha256.js';

export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** Required in X-Amz-Security-Token when set (temporary credentials). */
  sessionToken?: string;
  arn: string;
  userId: string;
  account: string;
}

export interface Ec2Instance {
  instanceId: string;
  imageId: string;
  state: 'running' | 'stopped';
}

/** One API call as the stand-in saw it (no secrets: the key id, never the key or signature). */
export interface ApiCall {
  action: string;
  service: string;
  region: string;
  accessKeyId: string;
  host: string;
  signedHeaders: string[];
  /** The signature checked out (and the session token, if any, matched). */
  verified: boolean;
  status: number;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** STS and EC2 query APIs on one loopback port, each call's SigV4 signature checked. */
export class AwsApiStandIn {
  readonly calls: ApiCall[] = [];
  private readonly identities = new Map<string, AwsIdentity>();
  private readonly instances = new Map<string, Ec2Instance>();
  /** Web identity tokens sts:AssumeRoleWithWebIdentity accepts, and the role each may assume. */
  private readonly webIdentities = new Map<string, string>();
  private constructor(private readonly server: http.Server, readonly port: number) {}

  static async start(): Promise<AwsApiStandIn> {
    let self: AwsApiStandIn | undefined;
    const server = http.createServer((req, res) => { void self!.handle(req, res); });
    const port = await listen(server);
    self = new AwsApiStandIn(server, port);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** An identity whose signed requests are answered (GetCallerIdentity says who it is). */
  addIdentity(identity: AwsIdentity): void {
    this.identities.set(identity.accessKeyId, identity);
  }

  removeIdentity(accessKeyId: string): void {
    this.identities.delete(accessKeyId);
  }

  /** `token` may assume `roleArn` (arn:aws:iam::<account>:role/<name>) with sts:AssumeRoleWithWebIdentity. */
  allowWebIdentity(token: string, roleArn: string): void {
    this.webIdentities.set(token, roleArn);
  }

  addInstance(instance: Ec2Instance): void {
    this.instances.set(instance.instanceId, instance);
  }

  callsOf(action: string): ApiCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    // Vault sends the client's request URI after its sts_endpoint and a slash: the path is `//`.
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const search = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    const form = new URLSearchParams(req.method === 'POST' ? body : search);
    const action = form.get('Action') ?? '';
    const call: ApiCall = { action, service: '', region: '', accessKeyId: '', host: req.headers.host ?? '', signedHeaders: [], verified: false, status: 0 };
    const answer = (status: number, xml: string): void => {
      call.status = status;
      this.calls.push(call);
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    const refuse = (status: number, code: string, message: string): void =>
      answer(status, `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomBytes(8).toString('hex')}</RequestId></ErrorResponse>`);

    if (action === 'AssumeRoleWithWebIdentity') return this.assumeRoleWithWebIdentity(form, call, answer, refuse);
    const auth = AUTHORIZATION.exec(req.headers.authorization ?? '');
    if (!auth) return refuse(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    const [, keyId, , region, service, signedList, signature] = auth as unknown as string[];
    Object.assign(call, { accessKeyId: keyId, region, service, signedHeaders: signedList!.split(';') });
    const identity = this.identities.get(keyId!);
    if (!identity) return refuse(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    const amzDate = AMZ_DATE.exec(String(req.headers['x-amz-date'] ?? ''));
    if (!amzDate) return refuse(400, 'IncompleteSignature', 'X-Amz-Date is missing or malformed');
    const signingDate = new Date(Date.UTC(+amzDate[1]!, +amzDate[2]! - 1, +amzDate[3]!, +amzDate[4]!, +amzDate[5]!, +amzDate[6]!));
    if (Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000) return refuse(403, 'SignatureDoesNotMatch', 'Signature expired');
    if (!call.signedHeaders.includes('host')) return refuse(403, 'SignatureDoesNotMatch', 'host must be signed');
    if ((identity.sessionToken ?? undefined) !== (req.headers['x-amz-security-token'] as string | undefined)) {
      return refuse(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    const headers: Record<string, string> = {};
    for (const name of call.signedHeaders) {
      const value = req.headers[name];
      if (value === undefined) return refuse(403, 'SignatureDoesNotMatch', `signed header ${name} is missing`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const signedContentSha = headers['x-amz-content-sha256'];
    if (signedContentSha !== undefined && signedContentSha !== createHash('sha256').update(body).digest('hex')) {
      return refuse(403, 'SignatureDoesNotMatch', 'x-amz-content-sha256 does not match the body');
    }
    const signer = new SignatureV4({
      service: service!, region: region!, sha256: NodeSha256, applyChecksum: false,
      credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}) },
    });
    const query: Record<string, string> = {};
    for (const [k, v] of search) query[k] = v;
    const again = await signer.sign({
      method: req.method ?? 'GET', protocol: 'http:', hostname: headers['host'] ?? '', path: pathname, query, headers, body,
    }, { signingDate, signableHeaders: new Set(call.signedHeaders) });
    const expected = AUTHORIZATION.exec(String(again.headers['authorization'] ?? ''))?.[6];
    if (expected !== signature) {
      return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    call.verified = true;
    const requestId = randomBytes(8).toString('hex');
    if (service === 'sts' && action === 'GetCallerIdentity') {
      return answer(200, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>${xmlEscape(identity.arn)}</Arn>
    <UserId>${xmlEscape(identity.userId)}</UserId>
    <Account>${xmlEscape(identity.account)}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`);
    }
    if (service === 'ec2' && action === 'DescribeInstances') {
      const ids = [...form.entries()].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
      const found = ids.map((id) => this.instances.get(id)).filter((i): i is Ec2Instance => i !== undefined);
      if (found.length < ids.length) {
        return answer(400, `<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID '${xmlEscape(ids.join(','))}' does not exist</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`);
      }
      const items = found.map((i) => `<item><reservationId>r-${i.instanceId.slice(2)}</reservationId><ownerId>${xmlEscape(identity.account)}</ownerId><instancesSet><item>
<instanceId>${xmlEscape(i.instanceId)}</instanceId><imageId>${xmlEscape(i.imageId)}</imageId>
<instanceState><code>${i.state === 'running' ? 16 : 80}</code><name>${i.state}</name></instanceState>
</item></instancesSet></item>`).join('');
      return answer(200, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId><reservationSet>${items}</reservationSet></DescribeInstancesResponse>`);
    }
    return refuse(400, 'InvalidAction', `Could not find operation ${action} for ${service}`);
  }

  /** Unsigned, as STS takes it: the token must be one allowed for the role; new temporary keys are made. */
  private assumeRoleWithWebIdentity(form: URLSearchParams, call: ApiCall, answer: (status: number, xml: string) => void, refuse: (status: number, code: string, message: string) => void): void {
    call.service = 'sts';
    const roleArn = form.get('RoleArn') ?? '';
    const session = form.get('RoleSessionName') ?? '';
    if (this.webIdentities.get(form.get('WebIdentityToken') ?? '') !== roleArn || session === '') {
      return refuse(400, 'InvalidIdentityToken', 'Token is not valid for this role');
    }
    call.verified = true;
    const [, , , , account, resource] = roleArn.split(':');
    const roleName = (resource ?? '').split('/').pop() ?? '';
    const keys = newAccessKey('ASIA');
    const sessionToken = randomBytes(32).toString('base64');
    const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`;
    this.addIdentity({ ...keys, sessionToken, arn, userId: `AROA${roleName.toUpperCase()}:${session}`, account: account ?? '' });
    answer(200, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>${keys.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(keys.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(sessionToken)}</SessionToken>
      <Expiration>${new Date(Date.now() + 3600_000).toISOString()}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>${xmlEscape(arn)}</Arn><AssumedRoleId>AROA${xmlEscape(roleName.toUpperCase())}:${xmlEscape(session)}</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>${randomBytes(8).toString('hex')}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`);
  }
}

/** A test-controlled key standing in for AWS's instance identity signing key, and its certificate. */
export interface IdentitySigner {
  /** The certificate (PEM) Vault is given at auth/aws/config/certificate/<name> with type = "identity". */
  certPem: string;
  /** base64 RSA-SHA256 signature of `document`, as IMDS's instance-identity/signature gives it. */
  sign(document: string): string;
}

export function makeIdentitySigner(): IdentitySigner {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-aws-identity-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'identity.key', '-out', 'identity.pem', '-days', '2', '-subj', '/CN=test instance identity'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = createPrivateKey(readFileSync(join(dir, 'identity.key')));
  const certPem = readFileSync(join(dir, 'identity.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return {
    certPem,
    // IMDS hands the signature out in 64-column base64 lines; Go's decoder skips the newlines.
    sign: (document) => (sign('sha256', Buffer.from(document, 'utf8'), key).toString('base64').match(/.{1,64}/g) ?? []).join('\n'),
  };
}

export interface InstanceIdentity {
  instanceId: string;
  imageId: string;
  accountId: string;
  region: string;
  pendingTime: string;
}

/** One request to the metadata stand-in: method, path and whether it carried an IMDSv2 token. */
export interface ImdsCall {
  method: string;
  path: string;
  withToken: boolean;
  status: number;
}

/**
 * The EC2 instance metadata service: IMDSv2 tokens (`PUT /latest/api/token`), the instance
 * identity document and its signature, and the instance role's credentials. `v1Only` answers the
 * token request with 404 (an old or IMDSv1-only endpoint); `v2Required` answers 401 to calls
 * without a valid token.
 */
export class ImdsStandIn {
  readonly calls: ImdsCall[] = [];
  readonly tokens = new Set<string>();
  v1Only = false;
  v2Required = true;
  identity: InstanceIdentity | undefined;
  role: { name: string; accessKeyId: string; secretAccessKey: string; token: string } | undefined;
  /**
   * Container credentials at `/container-credentials` (AWS_CONTAINER_CREDENTIALS_FULL_URI), given
   * only with `Authorization: <authorization>`.
   */
  container: { authorization: string; accessKeyId: string; secretAccessKey: string; token: string } | undefined;
  private constructor(private readonly server: http.Server, readonly port: number, private readonly signer: IdentitySigner) {}

  static async start(signer: IdentitySigner): Promise<ImdsStandIn> {
    let self: ImdsStandIn | undefined;
    const server = http.createServer((req, res) => { void self!.handle(req, res); });
    const port = await listen(server);
    self = new ImdsStandIn(server, port, signer);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The identity document as IMDS gives it (pretty JSON, as AWS's is). */
  document(): string {
    const i = this.identity!;
    return JSON.stringify({
      accountId: i.accountId, architecture: 'x86_64', availabilityZone: `${i.region}a`, imageId: i.imageId,
      instanceId: i.instanceId, instanceType: 't3.micro', pendingTime: i.pendingTime, privateIp: '10.0.0.10',
      region: i.region, version: '2017-09-30',
    }, null, 2);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    await readBody(req);
    const path = new URL(req.url ?? '/', 'http://imds').pathname;
    const token = req.headers['x-aws-ec2-metadata-token'];
    const withToken = typeof token === 'string' && this.tokens.has(token);
    const answer = (status: number, body: string, type = 'text/plain'): void => {
      this.calls.push({ method: req.method ?? '', path, withToken, status });
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (this.v1Only) return answer(404, '');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) return answer(400, '');
      const t = randomBytes(24).toString('base64');
      this.tokens.add(t);
      return answer(200, t);
    }
    if (req.method !== 'GET') return answer(405, '');
    if (path === '/container-credentials' && this.container) {
      if (req.headers.authorization !== this.container.authorization) return answer(401, '');
      return answer(200, JSON.stringify({
        AccessKeyId: this.container.accessKeyId, SecretAccessKey: this.container.secretAccessKey, Token: this.container.token,
        Expiration: new Date(Date.now() + 3600_000).toISOString(),
      }), 'application/json');
    }
    if (this.v2Required && !this.v1Only && !withToken) return answer(401, '');
    if (path === '/latest/dynamic/instance-identity/document' && this.identity) return answer(200, this.document(), 'application/json');
    if (path === '/latest/dynamic/instance-identity/signature' && this.identity) return answer(200, this.signer.sign(this.document()));
    if (path === '/latest/meta-data/iam/security-credentials/' && this.role) return answer(200, this.role.name);
    if (this.role && path === `/latest/meta-data/iam/security-credentials/${this.role.name}`) {
      return answer(200, JSON.stringify({
        Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC',
        AccessKeyId: this.role.accessKeyId, SecretAccessKey: this.role.secretAccessKey, Token: this.role.token,
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      }), 'application/json');
    }
    return answer(404, '');
  }
}

/** A fresh random access key pair. */
export function newAccessKey(prefix = 'AKIA'): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
}

/** What a test needs to log in with aws against a backend: the stand-ins and Vault set up to use them. */
export interface AwsWorld {
  api: AwsApiStandIn;
  imds: ImdsStandIn;
  signer: IdentitySigner;
  account: string;
  /** The IAM user the iam role is bound to, with its keys. */
  app: AwsIdentity;
  instance: InstanceIdentity;
  close(): Promise<void>;
}

export const TEST_ACCOUNT = '123456789012';

/**
 * Starts the stand-ins and sets up `auth/aws` on the backend (a real Vault or the simulator):
 * config/client pointed at the API stand-in (Vault's own keys known to it), the identity
 * certificate registered for ec2, an iam role `app` bound to the `app` user's ARN
 * (resolve_aws_unique_ids = false: true would make Vault ask IAM GetUser when the role is
 * written) and an ec2 role `ec2` bound to the instance's AMI. Roles take `token` settings.
 */
export async function startAwsWorld(
  v: { url: string; rootToken: string },
  token: { policies?: string[]; ttl?: string; maxTtl?: string } = {},
  client: Record<string, unknown> = {},
): Promise<AwsWorld> {
  const api = await AwsApiStandIn.start();
  const signer = makeIdentitySigner();
  const imds = await ImdsStandIn.start(signer);
  const put = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${v.url}/v1/${path}`, { method: 'POST', headers: { 'x-vault-token': v.rootToken, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path} → ${res.status} ${await res.text()}`);
  };
  const vaultKey = newAccessKey();
  api.addIdentity({ ...vaultKey, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/vault-server`, userId: 'AIDAVAULTSERVER', account: TEST_ACCOUNT });
  const app: AwsIdentity = { ...newAccessKey(), arn: `arn:aws:iam::${TEST_ACCOUNT}:user/app`, userId: 'AIDAAPPUSER', account: TEST_ACCOUNT };
  api.addIdentity(app);
  const instance: InstanceIdentity = { instanceId: 'i-0a1b2c3d4e5f60718', imageId: 'ami-0123456789abcdef0', accountId: TEST_ACCOUNT, region: 'us-east-1', pendingTime: '2026-12-01T08:00:00Z' };
  api.addInstance({ instanceId: instance.instanceId, imageId: instance.imageId, state: 'running' });
  imds.identity = instance;
  const tokenFields = {
    token_policies: token.policies ?? ['default'],
    ...(token.ttl ? { token_ttl: token.ttl } : {}),
    ...(token.maxTtl ? { token_max_ttl: token.maxTtl } : {}),
  };
  await put('sys/auth/aws', { type: 'aws' });
  await put('auth/aws/config/client', {
    access_key: vaultKey.accessKeyId, secret_key: vaultKey.secretAccessKey,
    sts_endpoint: api.url, endpoint: api.url, iam_endpoint: api.url, max_retries: 0, ...client,
  });
  await put('auth/aws/config/certificate/test-identity', { aws_public_cert: Buffer.from(signer.certPem).toString('base64'), type: 'identity' });
  await put('auth/aws/role/app', { auth_type: 'iam', bound_iam_principal_arn: [app.arn], resolve_aws_unique_ids: false, ...tokenFields });
  await put('auth/aws/role/ec2', { auth_type: 'ec2', bound_ami_id: [instance.imageId], ...tokenFields });
  return {
    api, imds, signer, account: TEST_ACCOUNT, app, instance,
    close: async () => { await Promise.all([api.close(), imds.close()]); },
  };
}
