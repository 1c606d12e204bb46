// Token settings of a login role (sdk/helper/tokenutil TokenParams) shared by the kubernetes and
// jwt auth methods: the token_* fields with their pre-1.4 names (policies, ttl, max_ttl, period,
// num_uses, bound_cidrs), the role read's token_* keys, and the login token issued from them.
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import type { MountEntry } from './mount-table.js';
import { authInfoOf, calculateTtl } from './tokens.js';
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
  tokenBoundCidrs: string[];
}

export function newTokenParams(): TokenParams {
  return {
    tokenPolicies: [], tokenTtlSeconds: 0, tokenMaxTtlSeconds: 0, tokenPeriodSeconds: 0, tokenExplicitMaxTtlSeconds: 0,
    tokenNumUses: 0, tokenNoDefaultPolicy: false, tokenType: 'default', tokenBoundCidrs: [],
  };
}

/** ParseTokenFields plus UpgradeValue for the old names; an error text or undefined. */
export function applyTokenFields(params: TokenParams, call: Call): string | undefined {
  const d = call.req.data;
  const either = (name: string, old: string): string | undefined => (hasField(d, name) ? name : hasField(d, old) ? old : undefined);
  const policies = either('token_policies', 'policies');
  if (policies) params.tokenPolicies = sanitizePolicies(stringListField(d, policies), false);
  const ttl = either('token_ttl', 'ttl');
  if (ttl) params.tokenTtlSeconds = durationField(d, ttl);
  const maxTtl = either('token_max_ttl', 'max_ttl');
  if (maxTtl) params.tokenMaxTtlSeconds = durationField(d, maxTtl);
  const period = either('token_period', 'period');
  if (period) params.tokenPeriodSeconds = durationField(d, period);
  const numUses = either('token_num_uses', 'num_uses');
  if (numUses) params.tokenNumUses = intField(d, numUses, 0);
  const cidrs = either('token_bound_cidrs', 'bound_cidrs');
  if (cidrs) params.tokenBoundCidrs = stringListField(d, cidrs);
  if (hasField(d, 'token_explicit_max_ttl')) params.tokenExplicitMaxTtlSeconds = durationField(d, 'token_explicit_max_ttl');
  if (hasField(d, 'token_no_default_policy')) params.tokenNoDefaultPolicy = boolField(d, 'token_no_default_policy', false);
  if (hasField(d, 'token_type')) params.tokenType = stringField(d, 'token_type');
  if (params.tokenNumUses < 0) return 'token_num_uses cannot be negative';
  if (!['default', 'service', 'batch', 'default-service', 'default-batch'].includes(params.tokenType)) return 'invalid \'token_type\' value';
  return undefined;
}

/** PopulateTokenData: the token_* keys of a role read. */
export function tokenData(params: TokenParams): Record<string, unknown> {
  return {
    token_bound_cidrs: params.tokenBoundCidrs,
    token_explicit_max_ttl: params.tokenExplicitMaxTtlSeconds,
    token_max_ttl: params.tokenMaxTtlSeconds,
    token_no_default_policy: params.tokenNoDefaultPolicy,
    token_num_uses: params.tokenNumUses,
    token_period: params.tokenPeriodSeconds,
    token_policies: params.tokenPolicies,
    token_ttl: params.tokenTtlSeconds,
    token_type: params.tokenType,
  };
}

export interface LoginIdentity {
  /** The plugin's auth.DisplayName; core prefixes the mount path (kubernetes-<ns>-<sa>). */
  displayName: string;
  metadata: Record<string, string>;
  /** The entity alias name (the service account's UID, the JWT's user claim). */
  aliasName: string;
  /** Looked up again on renewal: undefined when the role was deleted. */
  currentParams: () => TokenParams | undefined;
  roleName: string;
}

/** LoginCreateToken: an orphan service (or batch) token with the role's policies and TTLs. */
export function issueLoginToken(call: Call, mount: MountEntry, params: TokenParams, who: LoginIdentity): Outcome {
  const { state } = call;
  const nowMs = state.now();
  const result = calculateTtl({
    incrementSeconds: 0, backendTtlSeconds: params.tokenTtlSeconds, periodSeconds: params.tokenPeriodSeconds,
    backendMaxTtlSeconds: params.tokenMaxTtlSeconds, explicitMaxTtlSeconds: params.tokenExplicitMaxTtlSeconds, startMs: nowMs, nowMs,
  });
  if ('error' in result) return failWrapped(500, result.error);
  const entry = state.tokens.create({
    policies: sanitizePolicies(params.tokenPolicies, !params.tokenNoDefaultPolicy),
    parent: '',
    path: `${mount.routePrefix}login`,
    displayName: `${mount.path.replace(/\//g, '-')}${who.displayName}`.replace(/-$/, ''),
    meta: who.metadata,
    numUses: params.tokenNumUses,
    ttlSeconds: result.ttlSeconds,
    explicitMaxTtlSeconds: params.tokenExplicitMaxTtlSeconds,
    periodSeconds: params.tokenPeriodSeconds,
    renewable: true,
    type: params.tokenType === 'batch' || params.tokenType === 'default-batch' ? 'batch' : 'service',
    entityId: state.identity.entityForAlias(mount, who.aliasName).id,
    renewFrom: () => {
      const current = who.currentParams();
      if (!current) return `role ${who.roleName} does not exist during renewal`;
      return { ttlSeconds: current.tokenTtlSeconds, maxTtlSeconds: current.tokenMaxTtlSeconds, periodSeconds: current.tokenPeriodSeconds };
    },
  });
  return respond({ auth: authInfoOf(entry), warnings: result.warnings });
}
