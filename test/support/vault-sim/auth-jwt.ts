// The jwt auth method (vault-plugin-auth-jwt v0.17.0, Vault 1.15.6) for JWTs checked against
// static keys: config with jwt_validation_pubkeys (bound_issuer, jwt_supported_algs,
// default_role), roles of role_type "jwt" (user_claim, bound_audiences, bound_subject,
// bound_claims, claim_mappings, leeways, token settings) and login, which validates the JWT as
// hashicorp/cap does (signature, alg, iss, sub, aud, exp/nbf/iat with leeway) and gives a token
// whose entity alias is the user claim. Not simulated: jwks_url and oidc_discovery_url (refused
// with a vault-sim message), the OIDC flow (role_type "oidc" roles are stored, their login refused
// as Vault refuses it), group aliases from groups_claim (the claim is checked, no groups made),
// token_bound_cidrs at login.
import type { KeyObject } from 'node:crypto';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, renewWithParams, type TokenParams } from './token-util.js';
import { boolField, durationField, hasField, mapField, stringField, stringListField } from './fields.js';
import { globMatch, parsePublicKeyPem, validateJwt, type Claims } from './jwt-validate.js';
import { backendOf, roleRoutes } from './router.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

const ALL_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
const RESERVED_METADATA = ['role'];

interface JwtConfig {
  pubkeys: string[];
  keys: KeyObject[];
  boundIssuer: string;
  supportedAlgs: string[];
  defaultRole: string;
}

interface JwtRole extends TokenParams {
  roleType: string;
  userClaim: string;
  userClaimJsonPointer: boolean;
  boundAudiences: string[] | null;
  boundSubject: string;
  boundClaims: Record<string, unknown> | null;
  boundClaimsType: string;
  claimMappings: Record<string, string> | null;
  groupsClaim: string;
  expirationLeewaySeconds: number;
  notBeforeLeewaySeconds: number;
  clockSkewLeewaySeconds: number;
  allowedRedirectUris: string[] | null;
  oidcScopes: string[] | null;
  verboseOidcLogging: boolean;
  maxAgeSeconds: number;
}

/** getClaim: a JSON pointer when the name starts with `/`, else a top-level claim. */
function getClaim(claims: Claims, name: string): unknown {
  if (!name.startsWith('/')) return claims[name];
  let cur: unknown = claims;
  for (const raw of name.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[key];
    else return undefined;
  }
  return cur;
}

/** normalizeList: a string or bool becomes a list of one; anything else but a list is refused. */
function normalizeList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  return typeof v === 'string' || typeof v === 'boolean' ? [v] : undefined;
}

function validateBoundClaims(type: string, bound: Record<string, unknown>, claims: Claims): string | undefined {
  for (const [claim, expected] of Object.entries(bound)) {
    const actual = getClaim(claims, claim);
    if (actual === undefined || actual === null) return `claim "${claim}" is missing`;
    const actVals = normalizeList(actual);
    if (!actVals) return `received claim is not a string or list: ${String(actual)}`;
    const expVals = normalizeList(expected);
    if (!expVals) return `bound claim is not a string or list: ${String(expected)}`;
    const found = expVals.some((e) => actVals.some((a) => (type === 'glob'
      ? typeof e === 'string' && typeof a === 'string' && globMatch(e, a)
      : a === e)));
    if (!found) return `claim "${claim}" does not match any associated bound claim values`;
  }
  return undefined;
}

export function jwtAuthBackend(now: () => number): Backend {
  let config: JwtConfig | undefined;
  const roles = new Map<string, JwtRole>();
  const roleName = (call: Call): string => (call.params['name'] ?? '').toLowerCase();

  const writeConfig = (call: Call): Outcome => {
    const d = call.req.data;
    if (stringField(d, 'jwks_url') !== '' || stringField(d, 'oidc_discovery_url') !== '') {
      return fail(400, 'vault-sim: jwks_url and oidc_discovery_url are not simulated; use jwt_validation_pubkeys');
    }
    const pubkeys = stringListField(d, 'jwt_validation_pubkeys');
    if (pubkeys.length === 0) return fail(400, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set");
    const keys: KeyObject[] = [];
    for (const pem of pubkeys) {
      const key = parsePublicKeyPem(pem);
      if (!key) return fail(400, 'error parsing public key: data does not contain any valid public keys');
      keys.push(key);
    }
    const supportedAlgs = stringListField(d, 'jwt_supported_algs');
    const unsupported = supportedAlgs.find((a) => !ALL_ALGS.includes(a));
    if (unsupported !== undefined) return fail(400, `invalid jwt_supported_algs: unsupported signing algorithm "${unsupported}"`);
    config = { pubkeys, keys, boundIssuer: stringField(d, 'bound_issuer'), supportedAlgs, defaultRole: stringField(d, 'default_role') };
    return nothing();
  };

  const readConfig = (): Outcome => (config ? respond({
    data: {
      bound_issuer: config.boundIssuer, default_role: config.defaultRole, jwks_ca_pem: '', jwks_url: '',
      jwt_supported_algs: config.supportedAlgs, jwt_validation_pubkeys: config.pubkeys, namespace_in_state: true,
      oidc_client_id: '', oidc_discovery_ca_pem: '', oidc_discovery_url: '', oidc_response_mode: '', oidc_response_types: [],
      provider_config: {},
    },
  }) : nothing());

  const writeRole = (call: Call): Outcome => {
    const name = roleName(call);
    if (name === '') return fail(400, 'missing role name');
    const existing = roles.get(name);
    if (!existing && call.req.operation === 'update') return failWrapped(500, 'role entry not found during update operation');
    const role: JwtRole = existing ? { ...existing } : {
      ...defaultTokenParams(), roleType: 'oidc', userClaim: '', userClaimJsonPointer: false, boundAudiences: null, boundSubject: '',
      boundClaims: null, boundClaimsType: 'string', claimMappings: null, groupsClaim: '', expirationLeewaySeconds: 0,
      notBeforeLeewaySeconds: 0, clockSkewLeewaySeconds: 0, allowedRedirectUris: null, oidcScopes: null, verboseOidcLogging: false,
      maxAgeSeconds: 0,
    };
    const d = call.req.data;
    role.roleType = stringField(d, 'role_type') || 'oidc';
    if (role.roleType !== 'jwt' && role.roleType !== 'oidc') return fail(400, `invalid 'role_type': ${role.roleType}`);
    const problem = parseTokenFields(role, call.req.data, ['policies', 'bound_cidrs', 'num_uses', 'ttl', 'max_ttl', 'period']);
    if (problem) return fail(400, problem);
    if (hasField(d, 'expiration_leeway')) role.expirationLeewaySeconds = durationField(d, 'expiration_leeway');
    if (hasField(d, 'not_before_leeway')) role.notBeforeLeewaySeconds = durationField(d, 'not_before_leeway');
    if (hasField(d, 'clock_skew_leeway')) role.clockSkewLeewaySeconds = durationField(d, 'clock_skew_leeway');
    if (hasField(d, 'bound_audiences')) role.boundAudiences = stringListField(d, 'bound_audiences');
    if (hasField(d, 'bound_subject')) role.boundSubject = stringField(d, 'bound_subject');
    if (hasField(d, 'verbose_oidc_logging')) role.verboseOidcLogging = boolField(d, 'verbose_oidc_logging', false);
    if (hasField(d, 'max_age')) role.maxAgeSeconds = durationField(d, 'max_age');
    const boundClaimsType = stringField(d, 'bound_claims_type') || 'string';
    if (boundClaimsType !== 'string' && boundClaimsType !== 'glob') return fail(400, `invalid 'bound_claims_type': ${boundClaimsType}`);
    role.boundClaimsType = boundClaimsType;
    const boundClaims = mapField(d, 'bound_claims');
    if (boundClaims) role.boundClaims = boundClaims;
    const mappings = mapField(d, 'claim_mappings');
    if (mappings) {
      const targets = new Set<string>();
      for (const target of Object.values(mappings).map(String)) {
        if (RESERVED_METADATA.includes(target)) return fail(400, `metadata key "${target}" is reserved and may not be a mapping destination`);
        if (targets.has(target)) return fail(400, `multiple keys are mapped to metadata key "${target}"`);
        targets.add(target);
      }
      role.claimMappings = Object.fromEntries(Object.entries(mappings).map(([k, v]) => [k, String(v)]));
    }
    if (hasField(d, 'user_claim')) role.userClaim = stringField(d, 'user_claim');
    if (role.userClaim === '') return fail(400, 'a user claim must be defined on the role');
    if (hasField(d, 'user_claim_json_pointer')) role.userClaimJsonPointer = boolField(d, 'user_claim_json_pointer', false);
    if (hasField(d, 'groups_claim')) role.groupsClaim = stringField(d, 'groups_claim');
    if (hasField(d, 'oidc_scopes')) role.oidcScopes = stringListField(d, 'oidc_scopes');
    if (hasField(d, 'allowed_redirect_uris')) role.allowedRedirectUris = stringListField(d, 'allowed_redirect_uris');
    if (role.roleType === 'oidc' && (role.allowedRedirectUris ?? []).length === 0) {
      return fail(400, "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
    }
    if (role.roleType !== 'oidc' && (role.boundAudiences ?? []).length === 0 && role.tokenBoundCidrs.length === 0
      && role.boundSubject === '' && Object.keys(role.boundClaims ?? {}).length === 0) {
      return fail(400, 'must have at least one bound constraint when creating/updating a role');
    }
    if (role.tokenMaxTtlSeconds > 0 && role.tokenTtlSeconds > role.tokenMaxTtlSeconds) return fail(400, 'ttl should not be greater than max ttl');
    roles.set(name, role);
    return nothing();
  };

  const roleData = (role: JwtRole): Record<string, unknown> => ({
    allowed_redirect_uris: role.allowedRedirectUris, bound_audiences: role.boundAudiences, bound_claims: role.boundClaims,
    bound_claims_type: role.boundClaimsType, bound_subject: role.boundSubject, claim_mappings: role.claimMappings,
    clock_skew_leeway: role.clockSkewLeewaySeconds, expiration_leeway: role.expirationLeewaySeconds, groups_claim: role.groupsClaim,
    max_age: role.maxAgeSeconds, not_before_leeway: role.notBeforeLeewaySeconds, oidc_scopes: role.oidcScopes, role_type: role.roleType,
    ...populateTokenData(role),
    user_claim: role.userClaim, user_claim_json_pointer: role.userClaimJsonPointer, verbose_oidc_logging: role.verboseOidcLogging,
  });

  const login = (call: Call): Outcome => {
    if (!config) return fail(400, 'could not load configuration');
    const d = call.req.data;
    const name = stringField(d, 'role') || config.defaultRole;
    if (name === '') return fail(400, 'missing role');
    const role = roles.get(name.toLowerCase());
    if (!role) return fail(400, `role "${name}" could not be found`);
    if (role.roleType === 'oidc') return fail(400, 'role with oidc role_type is not allowed');
    const jwt = stringField(d, 'jwt');
    if (jwt === '') return fail(400, 'missing token');
    const checked = validateJwt(jwt, config.keys, {
      ...(config.boundIssuer !== '' ? { issuer: config.boundIssuer } : {}),
      ...(role.boundSubject !== '' ? { subject: role.boundSubject } : {}),
      ...(role.boundAudiences ? { audiences: role.boundAudiences } : {}),
      signingAlgorithms: config.supportedAlgs.length > 0 ? config.supportedAlgs : ALL_ALGS,
      expirationLeewaySeconds: role.expirationLeewaySeconds,
      notBeforeLeewaySeconds: role.notBeforeLeewaySeconds,
      clockSkewLeewaySeconds: role.clockSkewLeewaySeconds,
      nowMs: now(),
    });
    if ('error' in checked) return fail(400, `error validating token: ${checked.error}`);
    const claims = checked.claims;
    // Only a list-valued aud claim counts here (the plugin's type assertion to []interface{}).
    const aud = getClaim(claims, 'aud');
    if (Array.isArray(aud) && aud.length > 0 && (role.boundAudiences ?? []).length === 0) {
      return fail(400, 'audience claim found in JWT but no audiences bound to the role');
    }
    const user = role.userClaimJsonPointer ? getClaim(claims, role.userClaim) : claims[role.userClaim];
    if (user === undefined || user === null) return fail(400, `claim "${role.userClaim}" not found in token`);
    if (typeof user !== 'string') return fail(400, `claim "${role.userClaim}" could not be converted to string`);
    const metadata: Record<string, string> = {};
    for (const [source, target] of Object.entries(role.claimMappings ?? {})) {
      const value = getClaim(claims, source);
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') return fail(400, `error converting claim '${source}' to string`);
      metadata[target] = value;
    }
    if (role.groupsClaim !== '') {
      const groups = getClaim(claims, role.groupsClaim);
      if (groups === undefined || groups === null) return fail(400, `failed to fetch groups: "${role.groupsClaim}" claim not found in token`);
      if (!normalizeList(groups)) return fail(400, `"${role.groupsClaim}" claim could not be converted to string list`);
    }
    const unbound = validateBoundClaims(role.boundClaimsType, role.boundClaims ?? {}, claims);
    if (unbound) return fail(400, `error validating claims: ${unbound}`);
    return issueLoginToken(call, call.mount, role, {
      displayName: user,
      metadata: { role: name, ...metadata },
      aliasName: user,
      renewFrom: renewWithParams(() => roles.get(name.toLowerCase()), `role ${name} does not exist during renewal`),
    });
  };

  return backendOf([
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'config', ops: { update: writeConfig, read: readConfig } },
    ...roleRoutes(roles, writeRole, roleData, (name) => name.toLowerCase()),
  ]);
}
