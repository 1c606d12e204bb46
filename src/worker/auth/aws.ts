import { createHash, randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AppError } from '../../errors.js';
import type { AwsMethod } from '../../config/types.js';
import type { VaultClient } from '../../vault/client.js';
import { CredentialChain, InstanceMetadata, type AwsCredentials } from './aws-credentials.js';
import { NodeSha256 } from './node-sha256.js';
import type { AuthMethod, LoginResult } from './method.js';

const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/**
 * Regions for which aws-sdk-go v1 (Vault Agent's SDK) sends STS calls to the global endpoint
 * sts.amazonaws.com unless AWS_STS_REGIONAL_ENDPOINTS=regional; it signs for the region asked.
 */
const STS_LEGACY_GLOBAL_REGIONS = new Set([
  'ap-northeast-1', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2', 'aws-global', 'ca-central-1', 'eu-central-1',
  'eu-north-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
]);

type Env = Readonly<Record<string, string | undefined>>;

/** The STS URL the GetCallerIdentity request is signed for. */
export function stsEndpointFor(region: string, env: Env = process.env): URL {
  const override = env['AWS_ENDPOINT_URL_STS'] || env['AWS_ENDPOINT_URL'];
  if (override) return new URL(override);
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const regional = (env['AWS_STS_REGIONAL_ENDPOINTS'] ?? '').toLowerCase() === 'regional' || !STS_LEGACY_GLOBAL_REGIONS.has(region);
  return new URL(regional ? `https://sts.${region}.${suffix}/` : `https://sts.${suffix}/`);
}

/**
 * The iam login's fields as awsutil.GenerateLoginData makes them: a POST of
 * Action=GetCallerIdentity signed with SigV4 for service `sts` in `region`, the optional
 * X-Vault-AWS-IAM-Server-ID header signed with it; URL, body and headers (Go's http.Header JSON)
 * base64-encoded.
 */
export async function iamLoginData(creds: AwsCredentials, region: string, headerValue: string | undefined, env: Env = process.env, now: Date = new Date()): Promise<Record<string, string>> {
  const url = stsEndpointFor(region, env);
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}) },
    sha256: NodeSha256,
    // aws-sdk-go v1 sends no X-Amz-Content-Sha256 to STS; neither do we.
    applyChecksum: false,
  });
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  if (headerValue) headers[IAM_SERVER_ID_HEADER.toLowerCase()] = headerValue;
  const signed = await signer.sign({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname || '/', query: {}, headers, body: GET_CALLER_IDENTITY_BODY,
  }, { signingDate: now });
  // Go's http.Header: canonical names, each a list. The Host header is left out, as the Go SDK
  // leaves it out: Vault takes it from the URL.
  const goHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() === 'host') continue;
    goHeaders[canonicalHeaderName(name)] = [value];
  }
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return {
    iam_http_request_method: 'POST',
    iam_request_url: b64(url.toString()),
    iam_request_body: b64(GET_CALLER_IDENTITY_BODY),
    iam_request_headers: b64(JSON.stringify(goHeaders)),
  };
}

/** textproto.CanonicalMIMEHeaderKey: x-amz-date → X-Amz-Date. */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().split('-').map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : p)).join('-');
}

export interface AwsAuthDeps {
  env?: Env;
  now?: () => number;
}

/**
 * The aws auto-auth method as Vault Agent 1.15 runs it. iam: the credential chain is asked at
 * every login (so rotated instance-role or file credentials are picked up) and a signed
 * sts:GetCallerIdentity is handed to Vault. ec2: the identity document and its signature are read
 * from the metadata service at every login, with the same nonce every time (the configured one,
 * or a random one made at the first login and kept in memory): Vault ties the instance to the
 * nonce of its first login and refuses another one.
 */
export class AwsAuth implements AuthMethod {
  readonly name = 'aws';
  private readonly env: Env;
  private readonly imds: InstanceMetadata;
  private readonly chain: CredentialChain;
  private nonce: string | undefined;

  constructor(private readonly config: AwsMethod, deps: AwsAuthDeps = {}) {
    this.env = deps.env ?? process.env;
    this.imds = new InstanceMetadata(this.env, deps.now);
    this.chain = new CredentialChain(config, this.imds, this.env, config.region, (region) => stsEndpointFor(region, this.env));
    this.nonce = config.nonce;
  }

  async login(vault: VaultClient): Promise<LoginResult> {
    const data = this.config.authType === 'ec2' ? await this.ec2LoginData() : await this.iamLoginData();
    const body = { ...data, role: this.config.role };
    const path = `${this.config.mountPath}/login`;
    const reply = await vault.request({ method: 'POST', path, body, retry: false });
    const auth = reply.body?.auth;
    if (!auth?.client_token) throw new AppError('AUTH_FAILED', `${path} answered without a token`);
    return { token: auth.client_token, leaseDurationSeconds: auth.lease_duration, renewable: auth.renewable };
  }

  /**
   * iam with no static keys may read the shared credentials file: with
   * enable_reauth_on_new_credentials, new keys written there lead to a new login.
   */
  credentialFiles(): string[] {
    if (this.config.authType !== 'iam' || this.config.accessKey) return [];
    return [this.chain.sharedCredentialsFile];
  }

  /** `credential_poll_interval` in ms: how often Agent looks at the credential chain (iam). */
  get credentialPollMs(): number {
    return this.config.credentialPollIntervalSeconds * 1000;
  }

  /**
   * What Agent's credential poll compares (iam): a digest of the credentials the chain gives now,
   * undefined when it gives none (Agent then keeps the last ones and does not log in again). A
   * change of digest is "new credentials": with enable_reauth_on_new_credentials Agent logs in
   * again. For ec2 there are no credentials to poll: undefined.
   */
  async credentialFingerprint(): Promise<string | undefined> {
    if (this.config.authType !== 'iam') return undefined;
    try {
      const c = await this.chain.resolve();
      return createHash('sha256').update(`${c.accessKeyId}\n${c.secretAccessKey}\n${c.sessionToken ?? ''}`).digest('hex');
    } catch {
      return undefined;
    }
  }

  /** The nonce ec2 logins send (undefined before the first one when none is configured). */
  get currentNonce(): string | undefined {
    return this.nonce;
  }

  private async iamLoginData(): Promise<Record<string, string>> {
    const creds = await this.chain.resolve();
    return iamLoginData(creds, this.config.region, this.config.headerValue, this.env);
  }

  private async ec2LoginData(): Promise<Record<string, string>> {
    const document = await this.imds.get('dynamic/instance-identity/document');
    const signature = await this.imds.get('dynamic/instance-identity/signature');
    // Agent makes the nonce once and keeps it for the life of the process.
    this.nonce ??= randomUUID();
    return {
      identity: Buffer.from(document, 'utf8').toString('base64'),
      signature,
      nonce: this.nonce,
    };
  }
}
