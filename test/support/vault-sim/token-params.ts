// sdk/helper/tokenutil TokenParams, for the auth methods that carry them on a role or config
// (cert roles, the ldap config): the token_* fields, their read-back, and the login token.
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import type { MountEntry } from './mount-table.js';
import { authInfoOf, calculateTtl, type BackendRenewal } from './tokens.js';
import { failWrapped, respond, type Call, type Outcome } from './types.js';

export interface TokenParams {
  tokenPolicies: string[];
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  tokenPeriodSeconds: number;
  tokenExplicitMaxTtlSeconds: number;
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenType: string;
}

export function defaultTokenParams(): TokenParams {
  return {
    tokenPolicies: [], tokenTtlSeconds: 0, tokenMaxTtlSeconds: 0, tokenPeriodSeconds: 0, tokenExplicitMaxTtlSeconds: 0,
    tokenNumUses: 0, tokenNoDefaultPolicy: false, tokenType: 'default',
  };
}

/** ParseTokenFields plus the deprecated names (policies, ttl, max_ttl, period); an error text or undefined. */
export function applyTokenFields(p: TokenParams, data: Record<string, unknown>): string | undefined {
  const pick = (modern: string, old: string): string | undefined => (hasField(data, modern) ? modern : hasField(data, old) ? old : undefined);
  const policies = pick('token_policies', 'policies');
  if (policies) p.tokenPolicies = sanitizePolicies(stringListField(data, policies), false);
  const ttl = pick('token_ttl', 'ttl');
  if (ttl) p.tokenTtlSeconds = durationField(data, ttl);
  const maxTtl = pick('token_max_ttl', 'max_ttl');
  if (maxTtl) p.tokenMaxTtlSeconds = durationField(data, maxTtl);
  const period = pick('token_period', 'period');
  if (period) p.tokenPeriodSeconds = durationField(data, period);
  if (hasField(data, 'token_explicit_max_ttl')) p.tokenExplicitMaxTtlSeconds = durationField(data, 'token_explicit_max_ttl');
  if (hasField(data, 'token_num_uses')) p.tokenNumUses = intField(data, 'token_num_uses', 0);
  if (hasField(data, 'token_no_default_policy')) p.tokenNoDefaultPolicy = boolField(data, 'token_no_default_policy', false);
  if (hasField(data, 'token_type')) p.tokenType = stringField(data, 'token_type');
  return undefined;
}

/** PopulateTokenData. */
export function tokenData(p: TokenParams): Record<string, unknown> {
  return {
    token_bound_cidrs: [],
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

export interface LoginToken {
  params: TokenParams;
  /** Policies on top of the params' (ldap: from users and groups). */
  extraPolicies?: readonly string[];
  /** The request path the token is created for (auth/cert/login, auth/ldap/login/alice). */
  path: string;
  /** The backend's DisplayName; the token store prefixes the mount path (cert-web, ldap-alice). */
  displayName: string;
  meta: Record<string, string>;
  aliasName: string;
  /** The backend's renewal: current TTLs, or an error text (role gone, policies changed). */
  renewFrom: BackendRenewal;
  data?: Record<string, unknown>;
  warnings?: string[];
}

/** Creates the login token and answers with it, as a login response. */
export function issueLoginToken(call: Call, mount: MountEntry, t: LoginToken): Outcome {
  const { state } = call;
  const nowMs = state.now();
  const p = t.params;
  const result = calculateTtl({
    incrementSeconds: 0, backendTtlSeconds: p.tokenTtlSeconds, periodSeconds: p.tokenPeriodSeconds,
    backendMaxTtlSeconds: p.tokenMaxTtlSeconds, explicitMaxTtlSeconds: p.tokenExplicitMaxTtlSeconds, startMs: nowMs, nowMs,
  });
  if ('error' in result) return failWrapped(500, result.error);
  const entry = state.tokens.create({
    policies: sanitizePolicies([...p.tokenPolicies, ...(t.extraPolicies ?? [])], !p.tokenNoDefaultPolicy),
    parent: '',
    path: t.path,
    displayName: `${mount.path.replace(/\//g, '-')}${t.displayName}`,
    meta: t.meta,
    numUses: p.tokenNumUses,
    ttlSeconds: result.ttlSeconds,
    explicitMaxTtlSeconds: p.tokenExplicitMaxTtlSeconds,
    periodSeconds: p.tokenPeriodSeconds,
    renewable: true,
    type: p.tokenType === 'batch' || p.tokenType === 'default-batch' ? 'batch' : 'service',
    entityId: state.identity.entityForAlias(mount, t.aliasName).id,
    renewFrom: t.renewFrom,
  });
  return respond({ auth: authInfoOf(entry), ...(t.data ? { data: t.data } : {}), warnings: [...(t.warnings ?? []), ...result.warnings] });
}
