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
  source: 'config' | 'environment' | 'shared credentials file' | 'instance metadata';
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
 * 4. the instance's role from the metadata service (iam/security-credentials/<role>).
 *
 * Not covered (Agent has them through the SDK): web identity (AWS_ROLE_ARN with
 * AWS_WEB_IDENTITY_TOKEN_FILE), assuming AWS_ROLE_ARN, and ECS container credentials
 * (AWS_CONTAINER_CREDENTIALS_*_URI): with those alone, login fails and says what was tried.
 */
export class CredentialChain {
  constructor(
    private readonly keys: StaticKeys,
    private readonly imds: InstanceMetadata,
    private readonly env: Env = process.env,
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
    try {
      return await this.fromInstanceRole();
    } catch (err) {
      tried.push(`instance role: ${errorMessage(err)}`);
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

  private async fromInstanceRole(): Promise<AwsCredentials> {
    const roles = (await this.imds.get('meta-data/iam/security-credentials/')).split('\n').map((l) => l.trim()).filter(Boolean);
    const role = roles[0];
    if (!role) throw new AppError('AUTH_FAILED', 'the instance has no IAM role');
    const raw = await this.imds.get(`meta-data/iam/security-credentials/${encodeURIComponent(role)}`);
    let doc: { Code?: string; AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
    try {
      doc = JSON.parse(raw) as typeof doc;
    } catch {
      throw new AppError('AUTH_FAILED', `the instance role's credentials are not JSON`);
    }
    if ((doc.Code ?? 'Success') !== 'Success' || !doc.AccessKeyId || !doc.SecretAccessKey) {
      throw new AppError('AUTH_FAILED', `the instance role's credentials are not usable (Code ${doc.Code ?? '?'})`);
    }
    const expires = doc.Expiration ? Date.parse(doc.Expiration) : NaN;
    return {
      accessKeyId: doc.AccessKeyId, secretAccessKey: doc.SecretAccessKey, source: 'instance metadata',
      ...(doc.Token ? { sessionToken: doc.Token } : {}),
      ...(Number.isFinite(expires) ? { expiresAtMs: expires } : {}),
    };
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
