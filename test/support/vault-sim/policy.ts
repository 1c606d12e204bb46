// ACL policies: parsing (HCL subset or JSON), the built-in policies, and the policy store.
import { Acl, CAPABILITIES, type Capability, type PathRule } from './acl.js';
import { parseHcl, HclParseError, type HclBody, type HclValue } from './hcl.js';

export interface Policy {
  readonly name: string;
  readonly raw: string;
  readonly rules: readonly PathRule[];
}

export class PolicyParseError extends Error {
  override readonly name = 'PolicyParseError';
}

export const ROOT_POLICY = 'root';
export const DEFAULT_POLICY = 'default';
export const RESPONSE_WRAPPING_POLICY = 'response-wrapping';

/** Vault 1.15.6's built-in `default` policy, verbatim (templated paths are skipped: no entities here). */
const DEFAULT_POLICY_TEXT = `
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`;

const RESPONSE_WRAPPING_POLICY_TEXT = `
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
`;

const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

function toStringList(value: HclValue | unknown, where: string, field = 'capabilities'): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new PolicyParseError(`${where}: ${field} must be a list of strings`);
  }
  return value as string[];
}

interface RuleSpec {
  readonly capabilities?: unknown;
  readonly policy?: unknown;
  readonly subscribe_event_types?: unknown;
  readonly allowed_parameters?: unknown;
  readonly denied_parameters?: unknown;
  readonly required_parameters?: unknown;
}

/** An HCL object or a JSON object of lists → names lower-cased (policy.go) → values. */
function parameterMap(value: unknown, where: string, field: string): Map<string, unknown[]> | undefined {
  if (value === undefined) return undefined;
  const entries: [string, unknown][] = value !== null && typeof value === 'object' && (value as HclBody).kind === 'body'
    ? [...(value as HclBody).attributes]
    : value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  if (entries.length === 0 && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new PolicyParseError(`${where}: ${field} must be a map of lists`);
  }
  const out = new Map<string, unknown[]>();
  for (const [k, v] of entries) {
    if (!Array.isArray(v)) throw new PolicyParseError(`${where}: ${field}: ${k} must be a list`);
    out.set(k.toLowerCase(), v);
  }
  return out;
}

function ruleFrom(pattern: string, spec: RuleSpec): PathRule {
  const where = `path ${JSON.stringify(pattern)}`;
  const { capabilities: capsRaw, policy: legacy, subscribe_event_types: eventTypesRaw } = spec;
  const caps = new Set<Capability>();
  if (capsRaw !== undefined) {
    for (const c of toStringList(capsRaw, where)) {
      const cap = c.toLowerCase() as Capability;
      if (!CAPABILITIES.includes(cap)) throw new PolicyParseError(`${where}: invalid capability "${c}"`);
      caps.add(cap);
    }
  }
  if (typeof legacy === 'string') {
    const mapped = LEGACY_POLICY[legacy.toLowerCase()];
    if (!mapped) throw new PolicyParseError(`${where}: invalid policy "${legacy}"`);
    mapped.forEach((c) => caps.add(c));
  }
  const subscribeEventTypes = eventTypesRaw === undefined ? [] : toStringList(eventTypesRaw, where, 'subscribe_event_types');
  const allowed = parameterMap(spec.allowed_parameters, where, 'allowed_parameters');
  const denied = parameterMap(spec.denied_parameters, where, 'denied_parameters');
  const required = spec.required_parameters === undefined ? undefined : toStringList(spec.required_parameters, where, 'required_parameters');
  return {
    pattern: pattern.replace(/^\/+/, ''),
    capabilities: caps.has('deny') ? new Set(['deny']) : caps,
    subscribeEventTypes,
    ...(allowed ? { allowed } : {}),
    ...(denied ? { denied } : {}),
    ...(required && required.length > 0 ? { required } : {}),
  };
}

/** `allowed_parameters { … }` written as a block instead of an attribute. */
function nestedBlock(body: HclBody, key: string): HclBody | undefined {
  return body.blocks.find((b) => b.key === key && b.labels.length === 0)?.body;
}

function rulesFromHcl(body: HclBody): PathRule[] {
  const rules: PathRule[] = [];
  for (const block of body.blocks) {
    if (block.key !== 'path') continue;
    const [pattern] = block.labels;
    if (pattern === undefined || block.labels.length !== 1) throw new PolicyParseError('path block needs one label');
    const attrs = block.body.attributes;
    rules.push(ruleFrom(pattern, {
      capabilities: attrs.get('capabilities'),
      policy: attrs.get('policy'),
      subscribe_event_types: attrs.get('subscribe_event_types'),
      allowed_parameters: attrs.get('allowed_parameters') ?? nestedBlock(block.body, 'allowed_parameters'),
      denied_parameters: attrs.get('denied_parameters') ?? nestedBlock(block.body, 'denied_parameters'),
      required_parameters: attrs.get('required_parameters'),
    }));
  }
  return rules;
}

function rulesFromJson(doc: unknown): PathRule[] {
  const paths = (doc as { path?: unknown } | null)?.path;
  if (paths === undefined) return [];
  if (typeof paths !== 'object' || paths === null || Array.isArray(paths)) {
    throw new PolicyParseError('"path" must be an object');
  }
  return Object.entries(paths as Record<string, RuleSpec | null>).map(([pattern, spec]) => ruleFrom(pattern, spec ?? {}));
}

/** Parses policy text (HCL subset or JSON). Throws PolicyParseError. */
export function parsePolicy(raw: string): PathRule[] {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{')) {
    try {
      return rulesFromJson(JSON.parse(trimmed));
    } catch (err) {
      if (err instanceof PolicyParseError) throw err;
      // Not JSON after all: fall through to HCL, which also starts objects with '{'.
    }
  }
  try {
    return rulesFromHcl(parseHcl(raw));
  } catch (err) {
    if (err instanceof HclParseError) throw new PolicyParseError(err.message);
    throw err;
  }
}

export class PolicyStore {
  private readonly policies = new Map<string, Policy>();

  /**
   * `defaultPolicy`: the profile's `default` policy from Vault 1.15.6's text; `scanCapability`:
   * OpenBao's `scan` is a capability (profile.ts), which Vault 1.15.6 refuses as any unknown one.
   */
  constructor(defaultPolicy: (vaultText: string) => string = (text) => text, private readonly scanCapability = false) {
    this.put(DEFAULT_POLICY, defaultPolicy(DEFAULT_POLICY_TEXT));
    this.put(RESPONSE_WRAPPING_POLICY, RESPONSE_WRAPPING_POLICY_TEXT);
  }

  get(name: string): Policy | undefined {
    return this.policies.get(name);
  }

  has(name: string): boolean {
    return name === ROOT_POLICY || this.policies.has(name);
  }

  /** Stores (or replaces) a policy. Throws PolicyParseError for bad text. */
  put(name: string, raw: string): void {
    const rules = parsePolicy(raw);
    const scanRule = this.scanCapability ? undefined : rules.find((r) => r.capabilities.has('scan'));
    if (scanRule) throw new PolicyParseError(`path ${JSON.stringify(scanRule.pattern)}: invalid capability "scan"`);
    this.policies.set(name, { name, raw, rules });
  }

  delete(name: string): void {
    this.policies.delete(name);
  }

  /** Names as `sys/policy` lists them: sorted, internal ones hidden, `root` last. */
  listNames(): string[] {
    const names = [...this.policies.keys()].filter((n) => n !== RESPONSE_WRAPPING_POLICY).sort();
    return [...names, ROOT_POLICY];
  }

  /** The ACL for a set of policy names, evaluated now (so policy edits apply at once). */
  acl(policyNames: readonly string[]): Acl {
    if (policyNames.includes(ROOT_POLICY)) return new Acl(true, []);
    const rules = policyNames.flatMap((n) => this.policies.get(n)?.rules ?? []);
    return new Acl(false, rules);
  }
}
