import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * The "aws" method as Vault Agent 1.15 reads it (command/agentproxyshared/auth/aws):
 *
 * - `type = "iam"`: a SigV4-signed sts:GetCallerIdentity request, made with the credentials of the
 *   standard chain (static `access_key`/`secret_key`/`session_token` here, then the environment,
 *   the shared credentials file, and the instance's role from the instance metadata service), is
 *   handed to Vault, which sends it to STS and learns who signed it. `header_value` is signed in as
 *   `X-Vault-AWS-IAM-Server-ID`; `region` (default us-east-1) picks the STS endpoint and signing
 *   region. The chain is looked at again every `credential_poll_interval` seconds (default 60).
 * - `type = "ec2"`: the instance identity document and its signature from the instance metadata
 *   service (an IMDSv2 token first), with a `nonce` kept for every later login of this process
 *   (a random one when not configured, as Agent does).
 *
 * Not Agent's, ours (the AWS SDKs' standard variables, for tests and for hosts behind proxies):
 * `AWS_ENDPOINT_URL_STS` (or `AWS_ENDPOINT_URL`) is the URL the GetCallerIdentity request is
 * signed for, and `AWS_EC2_METADATA_SERVICE_ENDPOINT` where the metadata service is asked.
 */
export interface AwsMethod extends MethodCommon {
  type: 'aws';
  authType: 'iam' | 'ec2';
  role: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** `header_value`: sent and signed as X-Vault-AWS-IAM-Server-ID (iam). */
  headerValue?: string;
  /** Signing region and STS endpoint (iam). Default us-east-1. */
  region: string;
  /** `nonce` (ec2): the nonce of every login; undefined → a random one per process, as Agent does. */
  nonce?: string;
  /** `credential_poll_interval` (iam): seconds between looks at the credential chain. Default 60. */
  credentialPollIntervalSeconds: number;
}

export const AWS_DEFAULT_REGION = 'us-east-1';
const DEFAULT_CREDENTIAL_POLL_SECONDS = 60;

export function readAws(config: BlockReader, common: MethodCommon): AwsMethod | undefined {
  const type = config.string('type');
  if (type === undefined || type === '') config.error('type', 'is required: "iam" or "ec2"');
  else if (type !== 'iam' && type !== 'ec2') config.error('type', `must be "iam" or "ec2", got ${JSON.stringify(type)}`);
  const role = config.string('role');
  if (!role) config.error('role', 'is required');
  const accessKey = config.string('access_key') || undefined;
  const secretKey = config.string('secret_key') || undefined;
  const sessionToken = config.string('session_token') || undefined;
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    config.error(accessKey === undefined ? 'access_key' : 'secret_key', 'access_key and secret_key go together: give both, or neither to use the environment, the shared credentials file or the instance role');
  }
  if (sessionToken !== undefined && accessKey === undefined) config.error('session_token', 'needs access_key and secret_key');
  const headerValue = config.string('header_value') || undefined;
  // Agent starts from us-east-1 and takes `region` as written. An empty one is us-east-1 here
  // (Agent would then ask AWS_REGION, ~/.aws/config and the metadata service).
  const region = config.string('region') || AWS_DEFAULT_REGION;
  const nonce = config.string('nonce');
  let poll = DEFAULT_CREDENTIAL_POLL_SECONDS;
  if (config.has('credential_poll_interval')) {
    const n = config.int('credential_poll_interval');
    if (n !== undefined && n <= 0) config.error('credential_poll_interval', `must be a positive number of seconds, got ${n}`);
    else if (n !== undefined) poll = n;
  }
  if (type === 'ec2') {
    for (const key of ['access_key', 'secret_key', 'session_token', 'header_value', 'credential_poll_interval']) {
      if (config.has(key)) config.warn(key, 'is used by type = "iam" only; it is ignored for type = "ec2"');
    }
  } else if (type === 'iam' && config.has('nonce')) {
    config.warn('nonce', 'is used by type = "ec2" only; it is ignored for type = "iam"');
  }
  if ((type !== 'iam' && type !== 'ec2') || !role) return undefined;
  return {
    type: 'aws',
    ...common,
    authType: type,
    role,
    ...(accessKey ? { accessKey } : {}),
    ...(secretKey ? { secretKey } : {}),
    ...(sessionToken ? { sessionToken } : {}),
    ...(headerValue ? { headerValue } : {}),
    region,
    // Agent sends a configured nonce as written; an empty one means "generate".
    ...(nonce ? { nonce } : {}),
    credentialPollIntervalSeconds: poll,
  };
}

/**
 * The aws method reads no file that must exist: credentials come from the config, the
 * environment, an optional shared credentials file or the metadata service, all looked up at
 * login (a missing shared credentials file is simply skipped, as the AWS SDK does). What `check`
 * can say is whether the endpoint overrides in the environment are URLs.
 */
export function checkAwsFiles(_method: AwsMethod, at: ConfigKeyLocation, problems: Problems): void {
  for (const name of ['AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL', 'AWS_EC2_METADATA_SERVICE_ENDPOINT']) {
    const value = process.env[name];
    if (value === undefined || value === '') continue;
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.error(at('type'), `environment variable ${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
}
