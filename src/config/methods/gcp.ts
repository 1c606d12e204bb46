import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import { credentialFile } from './credential-file.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

/**
 * Vault Agent's "gcp" method (command/agentproxyshared/auth/gcp in Vault 1.15):
 * - `type = "gce"`: the instance identity token of `service_account` (default "default") from
 *   the GCE metadata server, audience `<vault address>/vault/<role>`, format full;
 * - `type = "iam"`: a JWT `{aud: "http://vault/<role>", sub: <service account>, exp: now + jwt_exp
 *   minutes}` signed by the IAM Credentials API's `signJwt` with the credentials' OAuth token.
 * Both log in with `{role, jwt}`.
 */
export interface GcpMethod extends MethodCommon {
  type: 'gcp';
  authType: 'gce' | 'iam';
  role: string;
  /**
   * The service-account key as Agent takes it (the JSON itself), or, as vault-extproc also
   * accepts, the path of a key file (re-read on every login). Unset: GOOGLE_CREDENTIALS,
   * GOOGLE_CLOUD_KEYFILE_JSON, ~/.gcp/credentials, then Application Default Credentials.
   */
  credentials?: string;
  /** Agent's default is "default"; set to "" (iam) to use the credentials' client_email. */
  serviceAccount: string;
  /** Read by Agent and never used; kept so configs written for Agent read the same. */
  project?: string;
  /** Minutes until the iam JWT expires (Agent: 15). */
  jwtExpMinutes: number;
}

export function readGcp(config: BlockReader, common: MethodCommon): GcpMethod | undefined {
  const authType = config.string('type');
  const role = config.string('role');
  let ok = true;
  if (authType === undefined || authType === '') { config.error('type', 'is required ("gce" or "iam")'); ok = false; }
  else if (authType !== 'gce' && authType !== 'iam') { config.error('type', `must be "gce" or "iam", got "${authType}"`); ok = false; }
  if (!role) { config.error('role', 'is required'); ok = false; }
  const credentials = config.string('credentials');
  const serviceAccount = config.string('service_account') ?? 'default';
  const project = config.string('project');
  const jwtExp = config.int('jwt_exp');
  if (jwtExp !== undefined && jwtExp < 0) { config.error('jwt_exp', 'must not be negative (minutes)'); ok = false; }
  if (authType === 'gce' && credentials) config.warn('credentials', 'is only used with type = "iam"; a gce login uses the metadata server');
  if (!ok) return undefined;
  return {
    type: 'gcp', ...common,
    authType: authType as 'gce' | 'iam',
    role: role!,
    ...(credentials ? { credentials } : {}),
    serviceAccount,
    ...(project ? { project } : {}),
    jwtExpMinutes: jwtExp || 15,
  };
}

/** Whether `credentials` is the key's JSON (as Agent takes it) rather than the path of a key file. */
export function isInlineCredentials(credentials: string): boolean {
  return credentials.trimStart().startsWith('{');
}

/** The files serve needs, checked as `check` reports them. */
export function checkGcpFiles(method: GcpMethod, at: ConfigKeyLocation, problems: Problems): void {
  if (method.authType !== 'iam' || !method.credentials) return;
  if (isInlineCredentials(method.credentials)) {
    try {
      const key = JSON.parse(method.credentials) as Record<string, unknown>;
      if (typeof key['private_key'] !== 'string' || typeof key['client_email'] !== 'string') {
        problems.error(at('credentials'), 'the service-account key has no private_key or client_email');
      }
    } catch {
      problems.error(at('credentials'), 'is neither JSON (a service-account key) nor the path of a key file');
    }
    return;
  }
  const state = credentialFile(method.credentials);
  if (state !== 'ok') problems.error(at('credentials'), `service-account key file ${method.credentials}: ${state}`);
}
