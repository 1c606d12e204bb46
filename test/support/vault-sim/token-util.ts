// sdk/helper/tokenutil for the simulator's auth methods: TokenParams (the token_* fields a role,
// user or config carries), ParseTokenFields with the UpgradeValue of each plugin's pre-1.4 names,
// PopulateTokenData (the token_* keys of a read), and PopulateTokenAuth together with what core
// does with a login's Auth (an orphan token with those policies and TTLs, an entity per alias).
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import type { MountEntry } from './mount-table.js';
import { authInfoOf, calculateTtl, type BackendRenewal } from './tokens.js';
import { failWrapped, respond, type Call, type Outcome } from './types.js';

export interface TokenParams {
  tokenBoundCidrs: string[];
  tokenExplicitMaxTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  tokenNoDefaultPolicy: boolean;
  tokenNumUses: number;
  tokenPeriodSeconds: number;
  tokenPolicies: string[];
  /** logical.TokenType's String(): default, service or batch. */
  tokenType: string;
  tokenTtlSeconds: number;
}

export function defaultTokenParams(): TokenParams {
  return {
    tokenBoundCidrs: [], tokenExplicitMaxTtlSeconds: 0, tokenMaxTtlSeconds: 0, tokenNoDefaultPolicy: false, tokenNumUses: 0,
    tokenPeriodSeconds: 0, tokenPolicies: [], tokenType: 'default', tokenTtlSeconds: 0,
  };
}

/** The pre-1.4 field names a plugin still takes (its tokenutil.UpgradeValue calls), each for its token_ name. */
export type OldTokenField = 'policies' | 'ttl' | 'max_ttl' | 'period' | 'num_uses' | 'bound_cidrs';

/**
 * ParseTokenFields, then UpgradeValue for the old names the plugin lists: a token_ field wins over
 * its old name; the old name counts only without it. Returns Vault's error text, or undefined.
 */
export function parseTokenFields(p: TokenParams, d: Record<string, unknown>, oldNames: readonly OldTokenField[] = []): string | undefined {
  if (hasField(d, 'token_bound_cidrs')) p.tokenBoundCidrs = stringListField(d, 'token_bound_cidrs');
  if (hasField(d, 'token_explicit_max_ttl')) p.tokenExplicitMaxTtlSeconds = durationField(d, 'token_explicit_max_ttl');
  if (hasField(d, 'token_max_ttl')) p.tokenMaxTtlSeconds = durationField(d, 'token_max_ttl');
  if (p.tokenMaxTtlSeconds < 0) return "'token_max_ttl' cannot be negative";
  if (hasField(d, 'token_no_default_policy')) p.tokenNoDefaultPolicy = boolField(d, 'token_no_default_policy', false);
  if (hasField(d, 'token_period')) p.tokenPeriodSeconds = durationField(d, 'token_period');
  if (p.tokenPeriodSeconds < 0) return "'token_period' cannot be negative";
  // As given (TypeCommaStringSlice: trimmed, not sorted); the login token's policies are sanitized.
  if (hasField(d, 'token_policies')) p.tokenPolicies = stringListField(d, 'token_policies');
  if (hasField(d, 'token_type')) {
    const type = stringField(d, 'token_type');
    if (!['', 'default', 'service', 'batch'].includes(type)) return `invalid 'token_type' value "${type}"`;
    p.tokenType = type || 'default';
  }
  if (hasField(d, 'token_num_uses')) p.tokenNumUses = intField(d, 'token_num_uses', 0);
  if (p.tokenNumUses < 0) return "'token_num_uses' cannot be negative";
  if (p.tokenType === 'batch') {
    if (p.tokenPeriodSeconds !== 0) return "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens";
    if (p.tokenNumUses !== 0) return "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count";
  }
  if (hasField(d, 'token_ttl')) p.tokenTtlSeconds = durationField(d, 'token_ttl');
  if (p.tokenTtlSeconds < 0) return "'token_ttl' cannot be negative";
  if (p.tokenTtlSeconds > 0 && p.tokenMaxTtlSeconds > 0 && p.tokenTtlSeconds > p.tokenMaxTtlSeconds) {
    return "'token_ttl' cannot be greater than 'token_max_ttl'";
  }
  const old = (name: OldTokenField): boolean => oldNames.includes(name) && !hasField(d, `token_${name}`) && hasField(d, name);
  // policyutil.ParsePolicies: lower-cased, de-duplicated, sorted.
  if (old('policies')) p.tokenPolicies = sanitizePolicies(stringListField(d, 'policies'), false);
  if (old('ttl')) p.tokenTtlSeconds = durationField(d, 'ttl');
  if (old('max_ttl')) p.tokenMaxTtlSeconds = durationField(d, 'max_ttl');
  if (old('period')) p.tokenPeriodSeconds = durationField(d, 'period');
  if (old('num_uses')) p.tokenNumUses = intField(d, 'num_uses', 0);
  if (old('bound_cidrs')) p.tokenBoundCidrs = stringListField(d, 'bound_cidrs');
  return undefined;
}

/** PopulateTokenData: the token_* keys of a role (user, config) read. */
export function populateTokenData(p: TokenParams): Record<string, unknown> {
  return {
    token_bound_cidrs: p.tokenBoundCidrs,
    token_explicit_max_ttl: p.tokenExplicitMaxTtlSeconds,
    token_max_ttl: p.tokenMaxTtlSeconds,
    token_no_default_policy: p.tokenNoDefaultPolicy,
    token_num_uses: p.tokenNumUses,
    token_period: p.tokenPeriodSeconds,
    token_policies: p.tokenPolicies,
    token_ttl: p.tokenTtlSeconds,
    token_type: p.tokenType,
  };
}

/** What a plugin's login puts in its logical.Auth besides the TokenParams. */
export interface LoginAuth {
  /** The request path the token is created for; default `<mount>login` (userpass, ldap: login/<name>). */
  path?: string;
  /** The plugin's DisplayName; core prefixes the mount path (kubernetes-<ns>-<sa>, cert-web). */
  displayName: string;
  metadata: Record<string, string>;
  /** The entity alias name (role ID, service account UID, the JWT's user claim, the username). */
  aliasName: string;
  /** Policies on top of the params' (ldap: from users and groups). */
  extraPolicies?: readonly string[];
  /** The backend's AuthRenew: current TTLs, or an error text (role gone, policies changed). */
  renewFrom?: BackendRenewal;
  data?: Record<string, unknown>;
  warnings?: string[];
}

/** An AuthRenew that extends with the params as they are now (role read again), or fails with `gone`. */
export function renewWithParams(current: () => TokenParams | undefined, gone: string): BackendRenewal {
  return () => {
    const now = current();
    if (!now) return gone;
    return { ttlSeconds: now.tokenTtlSeconds, maxTtlSeconds: now.tokenMaxTtlSeconds, periodSeconds: now.tokenPeriodSeconds };
  };
}

/** PopulateTokenAuth and core's login: an orphan service (or batch) token, answered as a login response. */
export function issueLoginToken(call: Call, mount: MountEntry, p: TokenParams, auth: LoginAuth): Outcome {
  const { state } = call;
  const nowMs = state.now();
  const result = calculateTtl({
    incrementSeconds: 0, backendTtlSeconds: p.tokenTtlSeconds, periodSeconds: p.tokenPeriodSeconds,
    backendMaxTtlSeconds: p.tokenMaxTtlSeconds, explicitMaxTtlSeconds: p.tokenExplicitMaxTtlSeconds, startMs: nowMs, nowMs,
  });
  if ('error' in result) return failWrapped(500, result.error);
  const entry = state.tokens.create({
    policies: sanitizePolicies([...p.tokenPolicies, ...(auth.extraPolicies ?? [])], !p.tokenNoDefaultPolicy),
    parent: '',
    path: auth.path ?? `${mount.routePrefix}login`,
    // Core: strings.TrimSuffix(source+auth.DisplayName, "-").
    displayName: `${mount.path.replace(/\//g, '-')}${auth.displayName}`.replace(/-$/, ''),
    // Go's JSON writes a map's keys sorted.
    meta: Object.fromEntries(Object.entries(auth.metadata).sort(([a], [b]) => (a < b ? -1 : 1))),
    numUses: p.tokenNumUses,
    ttlSeconds: result.ttlSeconds,
    explicitMaxTtlSeconds: p.tokenExplicitMaxTtlSeconds,
    periodSeconds: p.tokenPeriodSeconds,
    renewable: true,
    type: p.tokenType === 'batch' ? 'batch' : 'service',
    entityId: state.identity.entityForAlias(mount, auth.aliasName).id,
    ...(auth.renewFrom ? { renewFrom: auth.renewFrom } : {}),
  });
  return respond({ auth: authInfoOf(entry), ...(auth.data ? { data: auth.data } : {}), warnings: [...(auth.warnings ?? []), ...result.warnings] });
}
