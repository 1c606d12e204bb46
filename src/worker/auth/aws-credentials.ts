// Where the aws method gets what it signs with and what it shows: AWS credentials (the standard
// chain, as Vault Agent 1.15 builds it with go-secure-stdlib/awsutil) and the EC2 instance
// metadata service (as aws-sdk-go v1's ec2metadata client asks it: an IMDSv2 token first).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AppError, errorMessage } from '../../errors.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Where they came from, for logs: never the keys themselves. */
  source: 'config' | 'environment' | 'shared credentials file' | 'web identity' | 'container' | 'instance metadata';
  /** Expiry of temporary credentials (instance role), ms since the epoch. */
  expiresAtMs?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const IMDS_DEFAULT_ENDPOINT = 'http://169.254.169.254';
const IMDS_DEFAULT_ENDPOINT_IPV6 = 'http://[fd00:ec2::254]';
const IMDS_TOKEN_TTL_SECONDS = 21_600;
/** aws-sdk-go v1 gives each metadata call 1 s (and retries); ours gets a little more, once. */
const IMDS_TIMEOUT_MS = 3_000;

function truthy(v: string | undefined): boolean {
  return (v ?? '').trim().toLowerCase() === 'true';
}

/**
 * The instance metadata service as aws-sdk-go v1 asks it: `PUT /latest/api/token` first (IMDSv2)
 * and the token on every call; a 403, 404 or 405 to the token request falls back to IMDSv1
 * (unless AWS_EC2_METADATA_V1_DISABLED=true), a 400 is an error. The endpoint is
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 picks the IPv6
 * address), and AWS_EC2_METADATA_DISABLED=true turns the service off.
 */
export class InstanceMetadata {
  private token: { value: string; expiresAtMs: number } | undefined;
  private v1Fallback = false;

  constructor(private readonly env: Env = process.env, private readonly now: () => number = Date.now) {}

  get endpoint(): string {
    const configured = this.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'];
    if (configured) return configured.replace(/\/+$/, '');
    return (this.env['AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE'] ?? '').toLowerCase() === 'ipv6' ? IMDS_DEFAULT_ENDPOINT_IPV6 : IMDS_DEFAULT_ENDPOINT;
  }

  get disabled(): boolean {
    return truthy(this.env['AWS_EC2_METADATA_DISABLED']);
  }

  /** `GET /latest/<path>`: its body, or an AppError naming what failed. */
  async get(path: string): Promise<string> {
    if (this.disabled) throw new AppError('AUTH_FAILED', 'the EC2 instance metadata service is disabled (AWS_EC2_METADATA_DISABLED=true)');
    let res = await this.call('GET', path, await this.tokenHeader());
    if (res.status === 401) {
      // The token expired or was refused: the SDK drops it and asks again.
      this.token = undefined;
      this.v1Fallback = false;
      res = await this.call('GET', path, await this.tokenHeader());
    }
    if (res.status !== 200) throw new AppError('AUTH_FAILED', `instance metadata ${path}: HTTP ${res.status}`);
    return res.body;
  }

  private async tokenHeader(): Promise<Record<string, string>> {
    if (this.v1Fallback) return {};
    if (this.token && this.token.expiresAtMs - 60_000 > this.now()) return { 'x-aws-ec2-metadata-token': this.token.value };
    let res: { status: number; body: string } | undefined;
    try {
      res = await this.call('PUT', 'api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_SECONDS) });
    } catch {
      res = undefined; // unreachable: the data call that follows says so
    }
    if (res?.status === 200 && res.body !== '') {
      this.token = { value: res.body, expiresAtMs: this.now() + IMDS_TOKEN_TTL_SECONDS * 1000 };
      return { 'x-aws-ec2-metadata-token': res.body };
    }
    if (res && [403, 404, 405].includes(res.status)) {
      if (truthy(this.env['AWS_EC2_METADATA_V1_DISABLED'])) {
        throw new AppError('AUTH_FAILED', `failed to get an IMDSv2 token (HTTP ${res.status}) and fallback to IMDSv1 is disabled`);
      }
      this.v1Fallback = true;
      return {};
    }
    if (res) throw new AppError('AUTH_FAILED', `instance metadata token: HTTP ${res.status}`);
    return {};
  }

  private async call(method: 'GET' | 'PUT', path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const url = `${this.endpoint}/latest/${path}`;
    try {
      const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(IMDS_TIMEOUT_MS), redirect: 'manual' });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw new AppError('AUTH_FAILED', `instance metadata service at ${this.endpoint} unreachable: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** The static keys of the method's config, if any. */
export interface StaticKeys {
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
}

/**
 * The credential chain of awsutil.RetrieveCreds as Vault Agent calls it, in its order; the first
 * provider that has credentials wins:
 *
 * 1. the config's `access_key`/`secret_key`/`session_token`;
 * 2. AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY), AWS_SESSION_TOKEN;
 * 3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), profile
 *    AWS_PROFILE or `default`: aws_access_key_id, aws_secret_access_key, aws_session_token;
 * 4. web identity: AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (EKS service accounts), the token
 *    file read at every login and exchanged by sts:AssumeRoleWithWebIdentity (session name
 *    AWS_ROLE_SESSION_NAME, else a timestamp as the SDK makes it);
 * 5. container credentials when AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
 *    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback host) is set, with
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN; otherwise
 * 6. the instance's role from the metadata service (iam/security-credentials/<role>).
 *
 * Not covered (Agent has it through the SDK): AWS_ROLE_ARN without a web identity token (an
 * sts:AssumeRole made with the credentials found before it).
 */
export class CredentialChain {
  constructor(
    private readonly keys: StaticKeys,
    private readonly imds: InstanceMetadata,
    private readonly env: Env = process.env,
    /** The method's region, for STS calls the chain makes itself (web identity) when AWS_REGION is unset. */
    private readonly region = 'us-east-1',
    /** The STS endpoint for a region (AWS_ENDPOINT_URL_STS honoured): the method's own rule. */
    private readonly stsEndpoint: (region: string) => URL = (r) => new URL(`https://sts.${r}.amazonaws.com/`),
  ) {}

  /** The shared credentials file the chain reads (it may not exist). */
  get sharedCredentialsFile(): string {
    return this.env['AWS_SHARED_CREDENTIALS_FILE'] || join(this.env['HOME'] || homedir(), '.aws', 'credentials');
  }

  async resolve(): Promise<AwsCredentials> {
    const tried: string[] = [];
    if (this.keys.accessKey && this.keys.secretKey) {
      return {
        accessKeyId: this.keys.accessKey, secretAccessKey: this.keys.secretKey, source: 'config',
        ...(this.keys.sessionToken ? { sessionToken: this.keys.sessionToken } : {}),
      };
    }
    const env = this.fromEnvironment();
    if (env) return env;
    tried.push('environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set');
    const file = await this.fromSharedFile();
    if (file.creds) return file.creds;
    tried.push(`shared credentials file: ${file.why}`);
    const roleArn = this.env['AWS_ROLE_ARN'];
    const tokenFile = this.env['AWS_WEB_IDENTITY_TOKEN_FILE'];
    if (roleArn && tokenFile) {
      try {
        return await this.fromWebIdentity(roleArn, tokenFile);
      } catch (err) {
        tried.push(`web identity: ${errorMessage(err)}`);
      }
    }
    const container = this.env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] || this.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'];
    try {
      return container ? await this.fromContainer() : await this.fromInstanceRole();
    } catch (err) {
      tried.push(`${container ? 'container' : 'instance role'}: ${errorMessage(err)}`);
    }
    throw new AppError('AUTH_FAILED', `no AWS credentials found (config: no access_key/secret_key; ${tried.join('; ')})`);
  }

  private fromEnvironment(): AwsCredentials | undefined {
    const id = this.env['AWS_ACCESS_KEY_ID'] || this.env['AWS_ACCESS_KEY'];
    const secret = this.env['AWS_SECRET_ACCESS_KEY'] || this.env['AWS_SECRET_KEY'];
    if (!id || !secret) return undefined;
    const token = this.env['AWS_SESSION_TOKEN'];
    return { accessKeyId: id, secretAccessKey: secret, source: 'environment', ...(token ? { sessionToken: token } : {}) };
  }

  private async fromSharedFile(): Promise<{ creds?: AwsCredentials; why: string }> {
    const path = this.sharedCredentialsFile;
    const profile = this.env['AWS_PROFILE'] || 'default';
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      return { why: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} does not exist` : `${path}: ${errorMessage(err)}` };
    }
    const section = parseIni(text)[profile];
    if (!section) return { why: `${path} has no [${profile}] profile` };
    const id = section['aws_access_key_id'];
    const secret = section['aws_secret_access_key'];
    if (!id || !secret) return { why: `profile [${profile}] in ${path} lacks aws_access_key_id or aws_secret_access_key` };
    const token = section['aws_session_token'];
    return { creds: { accessKeyId: id, secretAccessKey: secret, source: 'shared credentials file', ...(token ? { sessionToken: token } : {}) }, why: '' };
  }

  /** sts:AssumeRoleWithWebIdentity, unsigned, as stscreds.WebIdentityRoleProvider sends it. */
  private async fromWebIdentity(roleArn: string, tokenFile: string): Promise<AwsCredentials> {
    let token: string;
    try {
      token = (await readFile(tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new AppError('AUTH_FAILED', `cannot read AWS_WEB_IDENTITY_TOKEN_FILE ${tokenFile}: ${errorMessage(err)}`);
    }
    const region = this.env['AWS_REGION'] || this.env['AWS_DEFAULT_REGION'] || this.region;
    const url = this.stsEndpoint(region);
    const body = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity', RoleArn: roleArn,
      RoleSessionName: this.env['AWS_ROLE_SESSION_NAME'] || String(Date.now() * 1_000_000), Version: '2011-06-15', WebIdentityToken: token,
    }).toString();
    let text: string;
    let status: number;
    try {
      const res = await fetch(url, {
        method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(10_000),
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new AppError('AUTH_FAILED', `STS at ${url.host} unreachable: ${errorMessage(err)}`);
    }
    const pick = (tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
    if (status !== 200) throw new AppError('AUTH_FAILED', `sts:AssumeRoleWithWebIdentity: HTTP ${status} ${pick('Code') ?? ''}`.trim());
    const id = pick('AccessKeyId');
    const secret = pick('SecretAccessKey');
    if (!id || !secret) throw new AppError('AUTH_FAILED', 'sts:AssumeRoleWithWebIdentity answered without credentials');
    const sessionToken = pick('SessionToken');
    const expires = Date.parse(pick('Expiration') ?? '');
    return {
      accessKeyId: id, secretAccessKey: secret, source: 'web identity',
      ...(sessionToken ? { sessionToken } : {}), ...(Number.isFinite(expires) ? { expiresAtMs: expires } : {}),
    };
  }

  /** The ECS/EKS Pod Identity container endpoint, as the SDK's endpointcreds provider asks it. */
  private async fromContainer(): Promise<AwsCredentials> {
    const relative = this.env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];
    const url = new URL(relative ? `http://169.254.170.2${relative}` : this.env['AWS_CONTAINER_CREDENTIALS_FULL_URI']!);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    if (!relative && url.protocol !== 'https:' && !loopback) {
      throw new AppError('AUTH_FAILED', `AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback host, got ${url.host}`);
    }
    const auth = this.env['AWS_CONTAINER_AUTHORIZATION_TOKEN'];
    let raw: string;
    try {
      const res = await fetch(url, { headers: auth ? { authorization: auth } : {}, redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (res.status !== 200) throw new AppError('AUTH_FAILED', `container credentials: HTTP ${res.status}`);
      raw = await res.text();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('AUTH_FAILED', `container credentials endpoint ${url.host} unreachable: ${errorMessage(err)}`);
    }
    return this.temporary(raw, 'container');
  }

  private temporary(raw: string, source: 'container' | 'instance metadata'): AwsCredentials {
    let doc: { Code?: string; AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
    try {
      doc = JSON.parse(raw) as typeof doc;
    } catch {
      throw new AppError('AUTH_FAILED', `the ${source} credentials are not JSON`);
    }
    if ((doc.Code ?? 'Success') !== 'Success' || !doc.AccessKeyId || !doc.SecretAccessKey) {
      throw new AppError('AUTH_FAILED', `the ${source} credentials are not usable (Code ${doc.Code ?? '?'})`);
    }
    const expires = doc.Expiration ? Date.parse(doc.Expiration) : NaN;
    return {
      accessKeyId: doc.AccessKeyId, secretAccessKey: doc.SecretAccessKey, source,
      ...(doc.Token ? { sessionToken: doc.Token } : {}),
      ...(Number.isFinite(expires) ? { expiresAtMs: expires } : {}),
    };
  }

  private async fromInstanceRole(): Promise<AwsCredentials> {
    const roles = (await this.imds.get('meta-data/iam/security-credentials/')).split('\n').map((l) => l.trim()).filter(Boolean);
    const role = roles[0];
    if (!role) throw new AppError('AUTH_FAILED', 'the instance has no IAM role');
    const raw = await this.imds.get(`meta-data/iam/security-credentials/${encodeURIComponent(role)}`);
    return this.temporary(raw, 'instance metadata');
  }
}

/** The INI dialect of ~/.aws/credentials: `[profile]` sections, `key = value`, `#`/`;` comments. */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = out[section[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) continue;
    current[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}
