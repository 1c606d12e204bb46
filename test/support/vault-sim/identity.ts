// Identity and login MFA (vault/identity_store*.go, vault/login_mfa.go), as much as TOTP login MFA
// needs: an entity per auth mount and alias name (made at login), TOTP methods, per-entity TOTP
// secrets (admin-generate), login enforcements, the single-phase check of `X-Vault-MFA` and the
// two-phase form (`auth.mfa_requirement`, then sys/mfa/validate). Groups, Duo/Okta/PingID, the
// self-service `generate` endpoint and QR images are not simulated (`barcode` is a placeholder).
import { intField, stringField, stringListField } from './fields.js';
import { newUuid } from './ids.js';
import type { MountEntry } from './mount-table.js';
import { backendOf } from './router.js';
import { formatTime } from './time.js';
import type { TokenEntry } from './tokens.js';
import { newTotpSecret, totpValid, type TotpAlgorithm } from './totp.js';
import {
  fail, failWrapped, multiError, nothing, respond, type AuthInfo, type Backend, type Call, type LogicalResponse, type Outcome,
  type Route,
} from './types.js';

interface Alias {
  readonly id: string;
  readonly name: string;
  readonly mountAccessor: string;
  readonly mountPath: string;
  readonly mountType: string;
  readonly createdMs: number;
}

interface Entity {
  readonly id: string;
  readonly name: string;
  readonly aliases: Alias[];
  readonly createdMs: number;
  /** TOTP secrets (base32) by method ID. */
  readonly totpSecrets: Map<string, string>;
}

interface TotpMethod {
  readonly id: string;
  name: string;
  issuer: string;
  period: number;
  keySize: number;
  algorithm: TotpAlgorithm;
  digits: number;
  skew: number;
  maxValidationAttempts: number;
  qrSize: number;
}

interface Enforcement {
  readonly id: string;
  readonly name: string;
  mfaMethodIds: string[];
  authMethodAccessors: string[];
  authMethodTypes: string[];
  identityEntityIds: string[];
  identityGroupIds: string[];
}

/** A login waiting for sys/mfa/validate: its token exists but is held back. */
interface PendingLogin {
  readonly id: string;
  readonly entityId: string;
  readonly mount: MountEntry;
  readonly token: TokenEntry;
  readonly response: LogicalResponse;
}

/** A 1x1 PNG: admin-generate's `barcode` is a QR code in Vault; nobody reads it in tests. */
const PLACEHOLDER_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

const MFA_WARNING = 'A login request was issued that is subject to MFA validation. Please make sure to validate the login by sending another request to mfa/validate endpoint.';

export class IdentityStore {
  private readonly entities = new Map<string, Entity>();
  readonly methods = new Map<string, TotpMethod>();
  readonly enforcements = new Map<string, Enforcement>();
  private readonly pending = new Map<string, PendingLogin>();
  /** validateTOTP's usedCodes cache: used passcodes and failed-attempt counters, with expiry (ms). */
  private readonly usedCodes = new Map<string, { value: number; expireMs: number }>();

  constructor(private readonly now: () => number) {}

  /** CreateOrFetchEntity for a login alias: one entity per (mount, alias name). */
  entityForAlias(mount: MountEntry, aliasName: string): Entity {
    for (const e of this.entities.values()) {
      if (e.aliases.some((a) => a.mountAccessor === mount.accessor && a.name === aliasName)) return e;
    }
    const id = newUuid();
    const entity: Entity = {
      id, name: `entity_${id.slice(0, 8)}`, createdMs: this.now(), totpSecrets: new Map(),
      aliases: [{ id: newUuid(), name: aliasName, mountAccessor: mount.accessor, mountPath: mount.routePrefix, mountType: mount.type, createdMs: this.now() }],
    };
    this.entities.set(id, entity);
    return entity;
  }

  entity(id: string): Entity | undefined {
    return this.entities.get(id);
  }

  /** buildMFAEnforcementConfigList (no groups): by entity ID, then mount accessor, then mount type. */
  enforcementsFor(entityId: string, mount: MountEntry): Enforcement[] {
    return [...this.enforcements.values()].filter((e) =>
      (entityId !== '' && e.identityEntityIds.includes(entityId))
      || e.authMethodAccessors.includes(mount.accessor)
      || e.authMethodTypes.includes(mount.type));
  }

  hold(login: PendingLogin): void {
    this.pending.set(login.id, login);
  }

  take(id: string): PendingLogin | undefined {
    const login = this.pending.get(id);
    this.pending.delete(id);
    return login;
  }

  private cacheGet(key: string): number | undefined {
    const hit = this.usedCodes.get(key);
    if (!hit) return undefined;
    if (hit.expireMs <= this.now()) {
      this.usedCodes.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** validateTOTP: the error text, or undefined when the passcode is good (and now used). */
  validateTotp(method: TotpMethod, entity: Entity, passcode: string | undefined): string | undefined {
    if (passcode === undefined || passcode === '') return 'MFA credentials not supplied';
    const secret = entity.totpSecrets.get(method.id);
    if (secret === undefined) return `MFA secret for method name "${method.name}" not present in entity "${entity.id}"`;
    const usedName = `${method.id}_${passcode}`;
    if (this.cacheGet(usedName) !== undefined) return `code already used; new code is available in ${method.period} seconds`;
    const rateLimitId = `${method.id}_${entity.id}`;
    const attempts = this.cacheGet(rateLimitId);
    const passcodeTtlMs = method.period * 1000;
    if (attempts === undefined) {
      this.usedCodes.set(rateLimitId, { value: 1, expireMs: this.now() + passcodeTtlMs });
    } else {
      if (attempts === method.maxValidationAttempts) {
        return `maximum TOTP validation attempts ${attempts + 1} exceeded the allowed attempts ${method.maxValidationAttempts}. Please try again in ${method.period}s seconds`;
      }
      this.usedCodes.get(rateLimitId)!.value = attempts + 1;
    }
    const opts = { period: method.period, digits: method.digits, algorithm: method.algorithm, skew: method.skew };
    if (!totpValid(passcode, secret, this.now(), opts)) return 'failed to validate TOTP passcode';
    this.usedCodes.set(usedName, { value: 0, expireMs: this.now() + method.period * 1000 * (2 + method.skew) });
    this.usedCodes.delete(rateLimitId);
    return undefined;
  }
}

/** parseMfaFactors: the one passcode among the credentials (`passcode=` prefix optional). */
function passcodeOf(creds: readonly string[]): { passcode?: string; error?: string } {
  let passcode: string | undefined;
  for (const cred of creds) {
    if (cred === '') continue;
    let value = cred;
    if (cred.startsWith('passcode=')) {
      value = cred.slice('passcode='.length);
      if (value === '') return { error: 'invalid passcode' };
    } else if (cred.includes('=')) {
      return { error: `found an invalid MFA cred: ${cred}` };
    }
    if (passcode !== undefined) return { error: 'found multiple passcodes for the same MFA method' };
    passcode = value;
  }
  return passcode === undefined ? {} : { passcode };
}

/** Go's %v of a []string. */
const goList = (items: readonly string[]): string => `[${items.join(' ')}]`;

/** validateLoginMFA for one enforcement: the error text, or undefined when one of its methods passes. */
function validateEnforcement(
  store: IdentityStore, enforcement: Enforcement, entity: Entity, creds: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  // sanitizeMFACredsWithLoginEnforcementMethodIDs: credentials by method ID, else by method name.
  const sanitized = new Map<string, readonly string[]>();
  const problems: string[] = [];
  for (const methodId of enforcement.mfaMethodIds) {
    const byId = creds.get(methodId);
    if (byId) {
      sanitized.set(methodId, byId);
      continue;
    }
    const method = store.methods.get(methodId);
    if (!method) {
      problems.push(`failed to find MFA config for method ID ${methodId}`);
      continue;
    }
    const byName = creds.get(method.name);
    if (byName) sanitized.set(methodId, byName);
    else problems.push(`failed to find MFA credentials associated with an MFA method ID ${methodId}, method name ${method.name}`);
  }
  if (sanitized.size === 0 && problems.length > 0) return `failed to sanitize MFA creds, ${multiError(problems)}`;
  if (sanitized.size === 0) return `login MFA validation failed for methodID: ${goList(enforcement.mfaMethodIds)}`;
  const errors: string[] = [];
  for (const methodId of enforcement.mfaMethodIds) {
    const methodCreds = sanitized.get(methodId);
    if (!methodCreds) continue;
    const method = store.methods.get(methodId);
    if (!method) {
      errors.push('MFA method configuration not present');
      continue;
    }
    const factors = passcodeOf(methodCreds);
    const error = factors.error !== undefined ? `failed to parse MFA factor, ${factors.error}` : store.validateTotp(method, entity, factors.passcode);
    if (error === undefined) return undefined;
    errors.push(error);
  }
  errors.push(`login MFA validation failed for methodID: ${goList(enforcement.mfaMethodIds)}`);
  return multiError(errors);
}

/**
 * Login MFA after a login handler made its token (request_handling.go handleLoginRequest): no
 * enforcement, the answer as it is; `X-Vault-MFA` given, every matching enforcement must pass
 * (else 403 and the token never existed); none given, the token is held back and the answer
 * carries `auth.mfa_requirement` instead.
 */
export function applyLoginMfa(call: Call, outcome: Outcome): Outcome {
  if (outcome.kind !== 'response' || !outcome.response?.auth) return outcome;
  const { state, req, mount } = call;
  const store = state.identity;
  const response = outcome.response;
  const auth = response.auth!;
  const token = state.tokens.lookupTainted(auth.clientToken);
  const enforcements = store.enforcementsFor(auth.entityId, mount);
  if (enforcements.length === 0) {
    if (req.mfaCreds.size === 0) return outcome;
    return { kind: 'response', response: { ...response, warnings: [...(response.warnings ?? []), 'Found MFA header but failed to find MFA Enforcement Config'] } };
  }
  const entity = store.entity(auth.entityId);
  const discard = (): void => {
    if (token) state.tokens.detach(token);
  };
  if (!entity) {
    discard();
    return fail(403, 'permission denied');
  }
  if (req.mfaCreds.size > 0) {
    for (const enforcement of enforcements) {
      if (validateEnforcement(store, enforcement, entity, req.mfaCreds) !== undefined) {
        discard();
        return fail(403, 'permission denied');
      }
    }
    return outcome;
  }
  if (!token) return failWrapped(500, 'vault-sim: login token not found');
  state.tokens.detach(token);
  const requestId = newUuid();
  store.hold({ id: requestId, entityId: entity.id, mount, token, response });
  const constraints: Record<string, unknown> = {};
  for (const e of enforcements) {
    constraints[e.name] = { any: e.mfaMethodIds.map((id) => ({ type: 'totp', id, uses_passcode: true })) };
  }
  const mfaAuth: AuthInfo = { ...auth, mfaRequirement: { mfa_request_id: requestId, mfa_constraints: constraints } };
  return { kind: 'response', response: { auth: mfaAuth, warnings: [MFA_WARNING] } };
}

/** sys/mfa/validate (unauthenticated): the held login's answer once its enforcements pass. */
function mfaValidate(call: Call): Outcome {
  const { state } = call;
  const d = call.req.data;
  const requestId = stringField(d, 'mfa_request_id');
  if (requestId === '') return fail(400, 'missing request ID');
  const payload = d['mfa_payload'];
  if (payload === undefined || payload === null) return fail(400, 'missing mfa payload');
  if (typeof payload !== 'object' || Array.isArray(payload)) return fail(400, 'invalid mfa payload');
  const creds = new Map<string, string[]>();
  for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
    if (!Array.isArray(v)) return fail(400, 'invalid mfa payload');
    creds.set(k, v.map(String));
  }
  const login = state.identity.take(requestId);
  if (!login) return fail(400, 'invalid request ID');
  const entity = state.identity.entity(login.entityId);
  const enforcements = state.identity.enforcementsFor(login.entityId, login.mount);
  if (!entity || enforcements.length === 0) {
    state.identity.hold(login);
    return failWrapped(500, 'found nil or empty MFAEnforcement configuration');
  }
  for (const enforcement of enforcements) {
    const error = validateEnforcement(state.identity, enforcement, entity, creds);
    if (error !== undefined) {
      state.identity.hold(login);
      return fail(403, `failed to satisfy enforcement ${enforcement.name}. error: ${error}`);
    }
  }
  state.tokens.attach(login.token);
  return respond(login.response);
}

export const mfaValidateRoute: Route = { pattern: 'mfa/validate', ops: { update: mfaValidate }, unauthenticated: true };

/** X-Vault-MFA (http/handler.go parseMFAHeader): `method:passcode`, or a bare method. */
export function parseMfaHeader(values: readonly string[]): { creds: Map<string, string[]> } | { error: string } {
  const creds = new Map<string, string[]>();
  for (const value of values) {
    if (value === '') continue;
    const colon = value.indexOf(':');
    if (colon < 0) {
      if (!creds.has(value)) creds.set(value, []);
      continue;
    }
    const method = value.slice(0, colon);
    const passcode = value.slice(colon + 1);
    if (method === '') return { error: 'invalid data in header "X-Vault-MFA"; missing method name or ID' };
    if (passcode === '') return { error: 'invalid data in header "X-Vault-MFA"; missing method value' };
    creds.set(method, [...(creds.get(method) ?? []), passcode]);
  }
  return { creds };
}

const ALGORITHMS: readonly string[] = ['SHA1', 'SHA256', 'SHA512'];

function methodData(m: TotpMethod): Record<string, unknown> {
  return {
    algorithm: m.algorithm, digits: m.digits, id: m.id, issuer: m.issuer, key_size: m.keySize,
    max_validation_attempts: m.maxValidationAttempts, name: m.name, namespace_id: 'root', namespace_path: '',
    period: m.period, qr_size: m.qrSize, skew: m.skew, type: 'totp',
  };
}

/** parseTOTPConfig onto `m`; the error text if a field is bad. */
function applyTotpFields(m: TotpMethod, d: Record<string, unknown>): string | undefined {
  m.algorithm = stringField(d, 'algorithm', m.algorithm) as TotpAlgorithm;
  if (!ALGORITHMS.includes(m.algorithm)) return 'unrecognized algorithm';
  m.digits = intField(d, 'digits', m.digits);
  if (m.digits !== 6 && m.digits !== 8) return 'digits can only be 6 or 8';
  m.period = intField(d, 'period', m.period);
  if (m.period <= 0) return 'period must be greater than zero';
  m.skew = intField(d, 'skew', m.skew);
  if (m.skew !== 0 && m.skew !== 1) return 'skew must be 0 or 1';
  m.keySize = intField(d, 'key_size', m.keySize);
  if (m.keySize <= 0) return 'key_size must be greater than zero';
  m.issuer = stringField(d, 'issuer', m.issuer);
  if (m.issuer === '') return 'issuer must be set';
  const attempts = intField(d, 'max_validation_attempts', 0);
  if (attempts < 0) return 'max_validation_attempts must be greater than zero';
  if (attempts > 0) m.maxValidationAttempts = attempts;
  m.qrSize = intField(d, 'qr_size', m.qrSize);
  m.name = stringField(d, 'method_name', m.name);
  return undefined;
}

function enforcementData(e: Enforcement): Record<string, unknown> {
  return {
    auth_method_accessors: e.authMethodAccessors, auth_method_types: e.authMethodTypes, id: e.id,
    identity_entity_ids: e.identityEntityIds, identity_group_ids: e.identityGroupIds, mfa_method_ids: e.mfaMethodIds,
    name: e.name, namespace_id: 'root', namespace_path: '',
  };
}

function entityData(e: Entity): Record<string, unknown> {
  return {
    aliases: e.aliases.map((a) => ({
      canonical_id: e.id, creation_time: formatTime(a.createdMs), custom_metadata: null, id: a.id,
      last_update_time: formatTime(a.createdMs), local: false, merged_from_canonical_ids: null, metadata: null,
      mount_accessor: a.mountAccessor, mount_path: a.mountPath, mount_type: a.mountType, name: a.name,
    })),
    creation_time: formatTime(e.createdMs), direct_group_ids: [], disabled: false, group_ids: [], id: e.id,
    inherited_group_ids: [], last_update_time: formatTime(e.createdMs), merged_entity_ids: null, metadata: null,
    mfa_secrets: {}, name: e.name, namespace_id: 'root', policies: [],
  };
}

/** The identity/ mount: entities by ID, TOTP methods, admin-generate and login enforcements. */
export function identityBackend(): Backend {
  const store = (call: Call): IdentityStore => call.state.identity;
  const writeMethod = (call: Call, existing: TotpMethod | undefined): Outcome => {
    const m: TotpMethod = existing ? { ...existing } : {
      id: newUuid(), name: '', issuer: '', period: 30, keySize: 20, algorithm: 'SHA1', digits: 6, skew: 1,
      maxValidationAttempts: 5, qrSize: 200,
    };
    const problem = applyTotpFields(m, call.req.data);
    if (problem) return fail(400, problem);
    store(call).methods.set(m.id, m);
    return respond({ data: { method_id: m.id } });
  };
  return backendOf([
    {
      pattern: 'entity/id/:id',
      ops: {
        read: (call) => {
          const e = store(call).entity(call.params['id'] ?? '');
          return e ? respond({ data: entityData(e) }) : nothing();
        },
      },
    },
    { pattern: 'mfa/method/totp', ops: { update: (call) => writeMethod(call, undefined) } },
    {
      pattern: 'mfa/method/totp/admin-generate',
      ops: {
        update: (call) => {
          const d = call.req.data;
          const method = store(call).methods.get(stringField(d, 'method_id'));
          if (!method) return fail(400, 'invalid method ID');
          const entity = store(call).entity(stringField(d, 'entity_id'));
          if (!entity) return fail(400, 'invalid entity ID');
          if (entity.totpSecrets.has(method.id)) {
            return respond({ warnings: [`Entity already has a secret for MFA method "${method.name}"`] });
          }
          const secret = newTotpSecret(method.keySize);
          entity.totpSecrets.set(method.id, secret);
          const label = encodeURIComponent(`${method.issuer}:${entity.id}`).replace(/%3A/g, ':');
          const url = `otpauth://totp/${label}?algorithm=${method.algorithm}&digits=${method.digits}`
            + `&issuer=${encodeURIComponent(method.issuer)}&period=${method.period}&secret=${secret}`;
          return respond({ data: { barcode: PLACEHOLDER_PNG, url } });
        },
      },
    },
    {
      pattern: 'mfa/method/totp/:id',
      ops: {
        read: (call) => {
          const m = store(call).methods.get(call.params['id'] ?? '');
          return m ? respond({ data: methodData(m) }) : nothing();
        },
        update: (call) => {
          const m = store(call).methods.get(call.params['id'] ?? '');
          return m ? writeMethod(call, m) : fail(400, 'No TOTP config exists for the given method ID');
        },
        delete: (call) => {
          store(call).methods.delete(call.params['id'] ?? '');
          return nothing();
        },
      },
    },
    {
      pattern: 'mfa/login-enforcement/:name',
      ops: {
        read: (call) => {
          const e = store(call).enforcements.get(call.params['name'] ?? '');
          return e ? respond({ data: enforcementData(e) }) : nothing();
        },
        update: (call) => {
          const d = call.req.data;
          const name = call.params['name'] ?? '';
          const existing = store(call).enforcements.get(name);
          const e: Enforcement = existing ? { ...existing } : {
            id: newUuid(), name, mfaMethodIds: [], authMethodAccessors: [], authMethodTypes: [], identityEntityIds: [], identityGroupIds: [],
          };
          if ('mfa_method_ids' in d) e.mfaMethodIds = stringListField(d, 'mfa_method_ids');
          if ('auth_method_accessors' in d) e.authMethodAccessors = stringListField(d, 'auth_method_accessors');
          if ('auth_method_types' in d) e.authMethodTypes = stringListField(d, 'auth_method_types');
          if ('identity_entity_ids' in d) e.identityEntityIds = stringListField(d, 'identity_entity_ids');
          if ('identity_group_ids' in d) e.identityGroupIds = stringListField(d, 'identity_group_ids');
          if (e.mfaMethodIds.length === 0) return fail(400, 'missing method ids');
          if (e.mfaMethodIds.some((id) => !store(call).methods.has(id))) return fail(400, 'method ID does not exist');
          if (e.authMethodAccessors.length + e.authMethodTypes.length + e.identityEntityIds.length + e.identityGroupIds.length === 0) {
            return fail(400, 'One of auth_method_accessors, auth_method_types, identity_group_ids, identity_entity_ids must be specified');
          }
          store(call).enforcements.set(name, e);
          return nothing();
        },
        delete: (call) => {
          store(call).enforcements.delete(call.params['name'] ?? '');
          return nothing();
        },
      },
    },
  ]);
}
