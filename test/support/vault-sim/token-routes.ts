// auth/token/*: create, lookup, renew, revoke, roles (vault/token_store.go).
import {
  boolField, durationField, intField, parsedDurationField, sanitizePolicies, stringField, stringListField, stringMapField,
} from './fields.js';
import { RESPONSE_WRAPPING_POLICY } from './policy.js';
import { backendOf } from './router.js';
import { authInfoOf, calculateTtl, lookupDataOf, type TokenEntry } from './tokens.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';
import { roleRoutes, type TokenRole } from './token-roles.js';

function isSudo(call: Call): boolean {
  const token = call.token;
  return token !== undefined && call.state.policies.acl(token.policies).hasSudo(call.req.path, 'update');
}

function relativePath(call: Call): string {
  return call.req.path.slice(call.mount.routePrefix.length).replace(/\/$/, '');
}

function createToken(call: Call, orphanEndpoint: boolean, role: TokenRole | undefined): Outcome {
  const { state, req } = call;
  const d = req.data;
  const parent = call.token as TokenEntry;
  if (parent.type === 'batch') return fail(400, 'batch tokens cannot create more tokens');
  if (parent.numUses > 0) return fail(400, 'restricted use token cannot generate child tokens');
  const sudo = isSudo(call);

  let typeText = stringField(d, 'type');
  if (role && role.tokenType !== 'default' && role.tokenType !== 'default-service') {
    typeText = role.tokenType === 'default-batch' ? typeText || 'batch' : role.tokenType;
  }
  if (typeText !== '' && typeText !== 'service' && typeText !== 'batch') return fail(400, "invalid 'token_type' value");
  const type = typeText === 'batch' ? 'batch' : 'service';
  const explicitMax = parsedDurationField(d, 'explicit_max_ttl');
  const numUses = intField(d, 'num_uses', 0);
  const period = parsedDurationField(d, 'period');
  if (type === 'batch') {
    const bad = explicitMax !== 0 ? 'explicit_max_ttl' : numUses !== 0 ? 'num_uses' : period !== 0 ? 'period' : '';
    if (bad !== '') return fail(400, `batch tokens cannot have "${bad}" set`);
  }
  if (numUses < 0) return fail(400, 'number of uses cannot be negative');
  let renewable = type === 'service' && boolField(d, 'renewable', true);
  if (role && !role.renewable) renewable = false;

  let displayName = 'token';
  const requestedName = stringField(d, 'display_name');
  if (requestedName !== '') displayName = `token-${requestedName}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-$/, '');
  const customId = stringField(d, 'id');
  if (customId !== '' && !sudo) return fail(400, 'root or sudo privileges required to specify token id');

  const noDefault = boolField(d, 'no_default_policy', false) || (role?.tokenNoDefaultPolicy ?? false);
  let requested = stringListField(d, 'policies');
  let addDefault = false;
  if (role && (role.allowedPolicies.length > 0 || role.disallowedPolicies.length > 0)) {
    const localDefault = !noDefault && !role.disallowedPolicies.includes('default');
    let final = requested.length > 0 ? sanitizePolicies(requested, localDefault) : [];
    if (role.allowedPolicies.length > 0) {
      const allowed = sanitizePolicies(role.allowedPolicies, localDefault);
      if (final.length === 0) final = allowed;
      else if (final.some((p) => !allowed.includes(p))) {
        return fail(400, `token policies (${JSON.stringify(final)}) must be subset of the role's allowed policies (${JSON.stringify(allowed)})`);
      }
    } else if (final.length === 0) {
      final = sanitizePolicies(parent.policies, localDefault);
    }
    const denied = final.find((p) => role.disallowedPolicies.includes(p));
    if (denied) return fail(400, `token policy "${denied}" is disallowed by this role`);
    requested = final;
  } else if (requested.length === 0) {
    requested = sanitizePolicies(parent.policies, false);
  } else if (!sudo) {
    const wanted = sanitizePolicies(requested, false);
    const allowed = sanitizePolicies(parent.policies, false);
    if (wanted.some((p) => !allowed.includes(p))) return fail(400, 'child policies must be subset of parent');
    addDefault = !noDefault && parent.policies.includes('default');
  } else {
    addDefault = !noDefault;
  }
  let policies = sanitizePolicies(requested, addDefault);
  if (noDefault) policies = policies.filter((p) => p !== 'default');
  if (policies.includes(RESPONSE_WRAPPING_POLICY)) return fail(400, `cannot assign policy "${RESPONSE_WRAPPING_POLICY}"`);
  if (policies.includes('root') && !parent.policies.includes('root')) {
    return fail(400, 'root tokens may not be created without parent token being root');
  }
  if (policies.includes('root') && type === 'batch') return fail(400, 'batch tokens cannot be root tokens');

  let parentId = parent.id;
  if (role) {
    if (role.orphan) parentId = '';
  } else if (boolField(d, 'no_parent', false)) {
    if (!sudo) return fail(400, 'root or sudo privileges required to create orphan token');
    parentId = '';
  } else if (orphanEndpoint) {
    parentId = '';
  }

  if (explicitMax < 0) return fail(400, 'explicit_max_ttl must be positive');
  if (period < 0) return fail(400, 'period must be positive');
  if (period > 0 && !sudo) return fail(400, 'root or sudo privileges required to create periodic token');
  let ttl = d['ttl'] !== undefined && d['ttl'] !== '' ? parsedDurationField(d, 'ttl') : parsedDurationField(d, 'lease');
  if (ttl < 0) return fail(400, 'ttl must be positive');

  const warnings: string[] = [];
  let explicitMaxToUse = explicitMax;
  let periodToUse = period;
  if (role && type === 'service') {
    if (role.tokenExplicitMaxTtlSeconds > 0) {
      if (explicitMaxToUse === 0) explicitMaxToUse = role.tokenExplicitMaxTtlSeconds;
      else {
        explicitMaxToUse = Math.min(explicitMaxToUse, role.tokenExplicitMaxTtlSeconds);
        warnings.push(`Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxToUse} seconds`);
      }
    }
    if (role.tokenPeriodSeconds > 0) {
      if (periodToUse === 0) periodToUse = role.tokenPeriodSeconds;
      else {
        periodToUse = Math.min(periodToUse, role.tokenPeriodSeconds);
        warnings.push(`Period specified both during creation call and in role; using the lesser value of ${periodToUse} seconds`);
      }
    }
  }
  if (periodToUse > 0 || ttl > 0 || !policies.includes('root')) {
    const result = calculateTtl({
      incrementSeconds: 0, backendTtlSeconds: ttl, periodSeconds: periodToUse, backendMaxTtlSeconds: 0,
      explicitMaxTtlSeconds: explicitMaxToUse, startMs: state.now(), nowMs: state.now(),
    });
    if ('error' in result) return failWrapped(500, result.error);
    warnings.push(...result.warnings);
    ttl = result.ttlSeconds;
  }
  if (ttl === 0 && explicitMaxToUse > 0) ttl = explicitMaxToUse;
  if (ttl === 0 && parent.ttlSeconds !== 0) return fail(400, 'expiring root tokens cannot create non-expiring root tokens');
  if (customId !== '' && state.tokens.lookup(customId)) return fail(400, 'cannot create a token with a duplicate ID');

  const path = `auth/token/${relativePath(call)}${role?.pathSuffix ? `/${role.pathSuffix}` : ''}`;
  const entry = state.tokens.create({
    id: customId || undefined,
    policies,
    parent: parentId,
    path,
    displayName,
    meta: stringMapField(d, 'meta'),
    numUses: role && role.tokenNumUses > 0 && (numUses === 0 || role.tokenNumUses < numUses) ? role.tokenNumUses : numUses,
    ttlSeconds: ttl,
    explicitMaxTtlSeconds: explicitMaxToUse,
    periodSeconds: periodToUse,
    renewable,
    type,
    role: role?.name ?? '',
    entityId: parentId !== '' ? parent.entityId : '',
  });
  if (customId !== '') {
    warnings.push('Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups.');
  }
  for (const p of policies) if (!state.policies.has(p)) warnings.push(`Policy "${p}" does not exist`);
  return respond({ auth: authInfoOf(entry), warnings });
}

/** The token named by the body's `token` field, a `*token` path capture, or (for -self) the caller. */
function targetToken(call: Call): string {
  return stringField(call.req.data, 'token') || (call.params['token'] ?? '');
}

function lookup(call: Call, id: string): Outcome {
  if (id === '') return fail(400, 'missing token ID');
  const entry = call.state.tokens.lookup(id);
  if (!entry) return fail(403, 'bad token');
  return respond({ data: lookupDataOf(call.state.tokens, entry, true) });
}

function renew(call: Call, entry: TokenEntry | undefined, clientToken?: string): Outcome {
  if (!entry) return fail(400, 'token not found');
  if (entry.type === 'batch') return fail(400, 'batch tokens cannot be renewed');
  const result = call.state.tokens.renew(entry, durationField(call.req.data, 'increment'), call.req);
  if (!result.ok) return result.wrapped ? failWrapped(result.status, result.message) : fail(result.status, result.message);
  return respond({ auth: authInfoOf(entry, clientToken), warnings: result.warnings });
}

function revoke(call: Call, id: string): Outcome {
  if (id === '') return fail(400, 'missing token ID');
  const entry = call.state.tokens.lookup(id);
  if (!entry) return nothing();
  if (entry.type === 'batch') return fail(400, 'batch tokens cannot be revoked');
  call.state.tokens.revokeTree(entry.id);
  return nothing();
}

function byAccessor(call: Call, then: (entry: TokenEntry) => Outcome): Outcome {
  const accessor = stringField(call.req.data, 'accessor');
  if (accessor === '') return failWrapped(400, 'missing accessor');
  const entry = call.state.tokens.lookupByAccessor(accessor);
  return entry ? then(entry) : failWrapped(400, 'invalid accessor');
}

function revokeOrphan(call: Call): Outcome {
  const id = targetToken(call);
  if (id === '') return fail(400, 'missing token ID');
  if (!isSudo(call)) return fail(400, 'root or sudo privileges required to revoke and orphan');
  const entry = call.state.tokens.lookup(id);
  if (!entry) return fail(400, 'token to revoke not found');
  if (entry.type === 'batch') return fail(400, 'batch tokens cannot be revoked');
  call.state.tokens.revokeOrphan(entry.id);
  return nothing();
}

export function tokenBackend(): Backend {
  const roles = new Map<string, TokenRole>();
  const self = (call: Call): TokenEntry => call.token as TokenEntry;
  const lookupSelf = (call: Call): Outcome => respond({ data: lookupDataOf(call.state.tokens, self(call), true) });
  const lookupOther = (call: Call): Outcome => lookup(call, targetToken(call) || (call.req.token ?? ''));
  const renewOther = (call: Call): Outcome => {
    const id = targetToken(call);
    return id === '' ? fail(400, 'missing token ID') : renew(call, call.state.tokens.lookup(id));
  };
  const revokeOther = (call: Call): Outcome => revoke(call, targetToken(call));
  const create = (call: Call): Outcome => createToken(call, false, undefined);

  return backendOf([
    { pattern: 'create', ops: { update: create } },
    { pattern: 'create-orphan', ops: { update: (call) => createToken(call, true, undefined) } },
    {
      pattern: 'create/:role',
      ops: {
        update: (call) => {
          const name = call.params['role'] ?? '';
          const role = roles.get(name.toLowerCase());
          return role ? createToken(call, false, role) : fail(400, `unknown role ${name}`);
        },
      },
    },
    { pattern: 'lookup-self', ops: { read: lookupSelf, update: lookupSelf } },
    { pattern: 'lookup', ops: { read: lookupOther, update: lookupOther } },
    { pattern: 'lookup/*token', ops: { read: lookupOther, update: lookupOther } },
    {
      pattern: 'lookup-accessor',
      ops: { update: (call) => byAccessor(call, (e) => respond({ data: lookupDataOf(call.state.tokens, e, false) })) },
    },
    { pattern: 'renew-self', ops: { update: (call) => renew(call, self(call)) } },
    { pattern: 'renew', ops: { update: renewOther } },
    { pattern: 'renew/*token', ops: { update: renewOther } },
    { pattern: 'renew-accessor', ops: { update: (call) => byAccessor(call, (e) => renew(call, e, '')) } },
    {
      pattern: 'revoke-self',
      ops: { update: (call) => (self(call).type === 'batch' ? fail(400, 'batch tokens cannot be revoked') : revoke(call, self(call).id)) },
    },
    { pattern: 'revoke', ops: { update: revokeOther } },
    { pattern: 'revoke/*token', ops: { update: revokeOther } },
    {
      pattern: 'revoke-accessor',
      ops: {
        update: (call) => {
          const accessor = stringField(call.req.data, 'accessor');
          if (accessor === '') return failWrapped(400, 'missing accessor');
          const entry = call.state.tokens.lookupByAccessor(accessor);
          if (!entry) return respond({ warnings: ['No token found with this accessor'] });
          call.state.tokens.revokeTree(entry.id);
          return nothing();
        },
      },
    },
    // The token store's root paths are `revoke-orphan` (exact) and `accessors/`: the URL form
    // reaches the handler, which checks sudo itself.
    { pattern: 'revoke-orphan', ops: { update: revokeOrphan }, sudo: true },
    { pattern: 'revoke-orphan/*token', ops: { update: revokeOrphan } },
    {
      pattern: 'accessors',
      ops: { list: (call) => respond({ data: { keys: call.state.tokens.all().map((t) => t.accessor).filter((a) => a !== '') } }) },
      sudo: true,
    },
    ...roleRoutes(roles),
  ]);
}
