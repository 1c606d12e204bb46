// A randomized differential check: a seeded, bounded sequence of operations (reads by tokens with
// different policies through generated path, query, header and method variants; writes; deletes;
// policy changes; revocations directly in Vault and through Envoy; expiring and use-limited
// tokens). Every read through Envoy is sent again, at once, directly to Vault; a cached answer
// (2xx with X-Cache: HIT) that Vault refuses is a failure unless a documented bound covers it, and
// a cached answer that differs from Vault's is stale: counted, and a failure outside its bound.
//
// The seed is printed every run (ADVERSARIAL_SEED=<seed> replays the same sequence of operations;
// ADVERSARIAL_OPS=<n> changes its length, 5,000 by default); a failure names the seed and the
// index of each failing operation. Tokens, secrets and bodies are never printed.
import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import { forEachBackend, hasNamespaces, startBackend, type Backend } from '../../support/backend.js';
import { type Stack } from '../../support/stack.js';
import { setupAppRole, vaultApi, writePolicy } from '../../support/vault-setup.js';
import { Rng, seedFromEnv } from './prng.js';
import { cacheStack, logsOnFailure, send, writePolicies, type Res } from './support.js';

// The stack's config and the bounds it documents (README, security model).
/** static_secret_token_capability_refresh_interval */
const CAPABILITY_INTERVAL_MS = 2_000;
/** static_secret_refresh_interval: every cached secret is read again this often (deletes: Vault 1.15 sends no event). */
const SECRET_REFRESH_MS = 3_000;
/** One round trip plus scheduling on a loaded 2-core machine. */
const MARGIN_MS = 1_000;
/** A direct revocation or policy change ends cached access within this. */
const ACCESS_BOUND_MS = CAPABILITY_INTERVAL_MS + MARGIN_MS;
/** A change of a secret (write, delete) is served within this. */
const STALE_BOUND_MS = SECRET_REFRESH_MS + MARGIN_MS;
/** A token's access ends at its expiry (looked up once); this much clock skew between the two processes. */
const EXPIRY_SKEW_MS = 250;
const SHORT_TTL_S = 6;
const LIMITED_USES = 3;

const TOKEN_ROLE = 'diff';
const SEED = seedFromEnv();
const OPERATIONS = Number(process.env['ADVERSARIAL_OPS'] ?? 5_000);
/** The lease-cache part: logins and token creations (each also made directly in Vault). */
const LEASE_OPERATIONS = Number(process.env['ADVERSARIAL_LEASE_OPS'] ?? 1_500);

/**
 * The secrets: KV v2 at secret/ and at ns1/secret (on Vault Community a mount whose path looks like
 * a namespace; on OpenBao the mount `secret` of namespace ns1), KV v1 at kv1/.
 */
interface Secret { mount: 'secret' | 'ns1/secret' | 'kv1'; name: string }
const SECRETS: readonly Secret[] = [
  { mount: 'secret', name: 'app/s0' }, { mount: 'secret', name: 'app/s1' }, { mount: 'secret', name: 'other/s0' }, { mount: 'secret', name: 'other/s1' },
  { mount: 'ns1/secret', name: 'app/s0' }, { mount: 'ns1/secret', name: 'other/s0' }, { mount: 'kv1', name: 'app/s0' },
];
const SECRET_WEIGHTS = [16, 16, 16, 16, 10, 10, 10];
const kvV2 = (s: Secret): boolean => s.mount !== 'kv1';
/** The path of a secret's data (or, for KV v2, its metadata or subkeys) in Vault's API, without /v1/. */
const apiPath = (s: Secret, part: 'data' | 'metadata' | 'subkeys' = 'data'): string => (kvV2(s) ? `${s.mount}/${part}/${s.name}` : `${s.mount}/${s.name}`);
type Role = 'all' | 'some' | 'none' | 'nover' | 'needver' | 'onlyv1' | 'mustwrap' | 'nsreader' | 'shifty' | 'short' | 'limited' | 'anon';
const ROLES: readonly Role[] = ['all', 'some', 'none', 'nover', 'needver', 'onlyv1', 'mustwrap', 'nsreader', 'shifty', 'short', 'limited', 'anon'];
const ROLE_POLICIES: Record<Exclude<Role, 'anon'>, string[]> = {
  all: ['reader'], some: ['reader-app'], none: ['default'], nover: ['no-version'], needver: ['need-version'], onlyv1: ['only-v1'],
  mustwrap: ['must-wrap'], nsreader: ['ns-victim'], shifty: ['shifting'], short: ['reader'], limited: ['reader'],
};
const SHIFTING_WIDE = 'path "secret/data/*" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["read"] }';
const SHIFTING_NARROW = 'path "secret/data/other/*" { capabilities = ["read"] }';

interface Tok {
  role: Role;
  token: string;
  accessor: string;
  limited: boolean;
  expireAt?: number;
  /** When Vault last changed this token's access without vault-extproc seeing it (revocation, policy). */
  changedAt?: number;
}

type TokenHeaders = 'x-vault-token' | 'bearer' | 'bearer-lower' | 'BEARER' | 'token+bearer-other' | 'token-twice-other-second'
  | 'token-twice-other-first' | 'token-padded' | 'token+bearer-same' | 'none' | 'empty-token+bearer' | 'empty-token-then-token'
  | 'basic-then-bearer' | 'bearer-other-then-bearer' | 'bearer-two-spaces' | 'bearer-tab' | 'token-comma-other' | 'bearer-comma-other';

interface ReadOp {
  kind: 'read';
  role: Role;
  /** A revoked or expired token of the graveyard, by position (reads with dead tokens). */
  grave: number | undefined;
  other: Role;
  secret: number;
  meta: boolean;
  /** The plain form clients send: no variant of path, query (beyond version), method or headers. */
  plain: boolean;
  method: string;
  path: string;
  tokenHeaders: TokenHeaders;
  extra: Array<[string, string]>;
}
type Op =
  | ReadOp
  | { kind: 'write'; via: 'direct' | 'envoy'; secret: number; value: string }
  | { kind: 'delete'; secret: number }
  | { kind: 'policy' }
  | { kind: 'revoke-direct'; role: Role }
  | { kind: 'revoke-envoy'; role: Role; how: RevokeHow }
  | { kind: 'revoke-prefix' }
  | { kind: 'mint'; role: 'short' | 'limited' };

const REVOKE_HOWS = ['revoke-self', 'revoke-sel%66', 'revoke%2Dself', 'revoke-accessor', 'revoke-accesso%72', 'revoke', 'revoke-form',
  'revoke-dup-key', '/revoke-self/', '//revoke-self'] as const;
type RevokeHow = typeof REVOKE_HOWS[number];

const JSON_TYPE: [string, string] = ['content-type', 'application/json'];
const writeBody = (s: Secret, v: string): unknown => (kvV2(s) ? { data: { v } } : { v });

function encodeOneLetter(rng: Rng, path: string, lowerHex: boolean): string {
  // A letter after /v1/ (not the version prefix itself).
  const positions: number[] = [];
  for (let i = 4; i < path.length; i++) if (/[a-z]/i.test(path[i]!)) positions.push(i);
  const i = rng.pick(positions);
  const hex = path.charCodeAt(i).toString(16);
  return `${path.slice(0, i)}%${lowerHex ? hex.toLowerCase() : hex.toUpperCase()}${path.slice(i + 1)}`;
}

function slashPositions(path: string): number[] {
  const out: number[] = [];
  for (let i = 4; i < path.length; i++) if (path[i] === '/') out.push(i);
  return out;
}

/** A path variant of `/v1/secret/{data|metadata}/<secret>`. */
function pathVariant(rng: Rng, base: string): string {
  const v = rng.weighted([
    ['plain', 80], ['enc-upper', 6], ['enc-lower', 4], ['%2F', 5], ['//', 5], ['/./', 5], ['trailing', 5], ['..', 5],
    ['%2e', 3], ['Mount', 3], ['V1', 2], ['%2e%2e', 2], ['semicolon', 2], ['space', 3], ['%3F', 2], ['Name', 2], ['%00', 1],
    ['ns-prefix', 3],
  ] as const);
  switch (v) {
    case 'plain': return base;
    case 'enc-upper': return encodeOneLetter(rng, base, false);
    case 'enc-lower': return encodeOneLetter(rng, base, true);
    case '%2F': { const i = rng.pick(slashPositions(base)); return `${base.slice(0, i)}%2F${base.slice(i + 1)}`; }
    case '//': { const i = rng.pick(slashPositions(base)); return `${base.slice(0, i)}/${base.slice(i)}`; }
    case '/./': { const i = rng.pick(slashPositions(base)); return `${base.slice(0, i)}/.${base.slice(i)}`; }
    case 'trailing': return `${base}/`;
    case '..': { const i = base.lastIndexOf('/'); return `${base.slice(0, i)}/zz/..${base.slice(i)}`; }
    case '%2e': { const i = rng.pick(slashPositions(base)); return `${base.slice(0, i)}/%2e${base.slice(i)}`; }
    case '%2e%2e': { const i = base.lastIndexOf('/'); return `${base.slice(0, i)}/zz/%2e%2e${base.slice(i)}`; }
    case 'Mount': return base.replace('secret/', 'Secret/').replace('/kv1/', '/KV1/');
    case 'V1': return base.replace('/v1/', '/V1/');
    case 'semicolon': return `${base};x=1`;
    case 'space': return `${base}%20`;
    case '%3F': return `${base}%3Fversion=1`;
    case 'Name': return base.replace(/s(\d)$/, 'S$1');
    case '%00': return `${base}%00`;
    // The same secret on the other KV v2 mount (ns1/secret ↔ secret): a namespace-looking prefix.
    case 'ns-prefix': return base.startsWith('/v1/ns1/') ? base.replace('/v1/ns1/', '/v1/') : base.replace('/v1/', '/v1/ns1/');
  }
}

function queryVariant(rng: Rng): string {
  const n = (): number => rng.int(4);
  return rng.weighted<() => string>([
    [() => '', 60], [() => `version=${n()}`, 25], [() => 'help=1', 4], [() => `help=1&version=${n()}`, 3],
    [() => 'list=true', 3], [() => `version=${n()}&version=${n()}`, 3], [() => `%76ersion=${n()}`, 3], [() => 'foo=bar', 4],
    [() => 'version=', 2], [() => `version=0${n()}`, 2], [() => `version=${n()}&foo=bar`, 3], [() => 'list=false', 2],
    [() => `Version=${n()}`, 2], [() => `version=${n()}%00`, 1], [() => `version=+${n()}`, 1], [() => 'cas=1', 1],
    [() => `version=${n()}&help=0`, 1], [() => 'list=1', 1], [() => `version=-${n()}`, 1], [() => `version=${n()}.0`, 1],
    [() => `version=%20${n()}`, 1], [() => `version=0x${n()}`, 1], [() => `version=${n()}e0`, 1], [() => `version=${n()}#frag`, 1],
    [() => `version=${n()}&&`, 1], [() => `=&version=${n()}`, 1], [() => `help`, 1], [() => `version=${n()}&list`, 1],
    // Go drops a pair holding ';' and stops at a bad escape: Vault may read another version than the text says.
    [() => `version=${n()};x=y`, 1], [() => `x=y;version=${n()}`, 1], [() => `version=${n()}&x=%zz`, 1], [() => `version=${n()}&%76ersion=${n()}`, 1],
  ])();
}

function extraHeaders(rng: Rng): Array<[string, string]> {
  const h = rng.weighted<Array<[string, string]>>([
    [[], 70],
    [[['x-vault-namespace', 'ns1']], 4], [[['x-vault-namespace', 'root']], 2], [[['x-vault-namespace', '']], 1],
    [[['x-vault-wrap-ttl', '60s']], 4], [[['x-vault-policy-override', 'true']], 2], [[['x-vault-index', 'abc']], 2],
    [[['x-vault-inconsistent', 'forward-active-node']], 2], [[['x-vault-forward', 'active-node']], 1],
    [[['x-vault-mfa', 'm:123456']], 2], [[['x-vault-request', 'true']], 2], [[['cache-control', 'no-cache']], 2],
    [[['x-vault-wrap-format', 'jwt']], 1], [[['x-vault-aws-iam-server-id', 'x']], 1],
    [[['x-vault-wrap-ttl', '60s'], ['x-vault-namespace', 'ns1']], 1],
  ]);
  return h;
}

function genOp(rng: Rng): Op {
  const kind = rng.weighted([
    ['read', 900], ['write-direct', 15], ['write-envoy', 10], ['delete', 5], ['policy', 8],
    ['revoke-direct', 7], ['revoke-envoy', 9], ['mint-short', 4], ['mint-limited', 8], ['revoke-prefix', 1],
  ] as const);
  const liveRole = (): Role => rng.pick(ROLES.filter((r) => r !== 'anon'));
  switch (kind) {
    case 'write-direct': case 'write-envoy':
      return { kind: 'write', via: kind === 'write-direct' ? 'direct' : 'envoy', secret: rng.weighted(SECRET_WEIGHTS.map((w, i) => [i, w] as const)), value: `v${rng.int(1e6)}` };
    case 'delete': return { kind: 'delete', secret: rng.weighted(SECRET_WEIGHTS.map((w, i) => [i, w] as const)) };
    case 'revoke-prefix': return { kind: 'revoke-prefix' };
    case 'policy': return { kind: 'policy' };
    case 'revoke-direct': return { kind: 'revoke-direct', role: liveRole() };
    case 'revoke-envoy':
      return { kind: 'revoke-envoy', role: liveRole(), how: rng.pick(REVOKE_HOWS) };
    case 'mint-short': return { kind: 'mint', role: 'short' };
    case 'mint-limited': return { kind: 'mint', role: 'limited' };
    case 'read': {
      const secret = rng.weighted(SECRET_WEIGHTS.map((w, i) => [i, w] as const));
      const part = kvV2(SECRETS[secret]!) ? rng.weighted([['data', 88], ['metadata', 8], ['subkeys', 4]] as const) : 'data';
      const meta = part !== 'data';
      const base = `/v1/${apiPath(SECRETS[secret]!, part)}`;
      // Half the reads are the plain form clients send (so that much is cached and served), half a variant.
      const plain = rng.next() < 0.5;
      const path = plain ? base : pathVariant(rng, base);
      const query = plain ? rng.weighted([['', 65], ['version=1', 20], [`version=${rng.int(4)}`, 15]]) : meta ? rng.pick(['', '', '', 'version=1', 'help=1', 'list=true']) : queryVariant(rng);
      const role = rng.weighted<Role>([
        ['all', 35], ['some', 12], ['nover', 8], ['needver', 8], ['onlyv1', 6], ['mustwrap', 4], ['nsreader', 8], ['shifty', 10], ['short', 8],
        ['none', 8], ['limited', 8], ['anon', 6],
      ]);
      const grave = rng.next() < 0.06 ? rng.int(1 << 30) : undefined;
      const tokenHeaders = role === 'anon' ? 'none' : plain ? 'x-vault-token' : rng.weighted<TokenHeaders>([
        ['x-vault-token', 60], ['bearer', 8], ['bearer-lower', 5], ['BEARER', 2], ['token+bearer-other', 5],
        ['token-twice-other-second', 5], ['token-twice-other-first', 5], ['token-padded', 4], ['token+bearer-same', 3], ['none', 3],
        ['empty-token+bearer', 2], ['empty-token-then-token', 3], ['basic-then-bearer', 2], ['bearer-other-then-bearer', 3],
        ['bearer-two-spaces', 2], ['bearer-tab', 2], ['token-comma-other', 2], ['bearer-comma-other', 1],
      ]);
      const method = plain ? 'GET' : rng.weighted([['GET', 85], ['get', 4], ['HEAD', 4], ['Get', 2], ['LIST', 3], ['OPTIONS', 2]] as const);
      const extra = plain ? [] : extraHeaders(rng);
      return { kind: 'read', role, grave, other: liveRole(), secret, meta, plain, method, path: query ? `${path}?${query}` : path, tokenHeaders, extra };
    }
  }
}

/**
 * The secrets a read may address: its own and, when it names ns1 otherwise than its mount does (the
 * ns-prefix path variant, or X-Vault-Namespace: ns1, which OpenBao honours), the same name on the
 * other KV v2 mount (secret ↔ ns1/secret).
 */
function addressed(op: ReadOp): number[] {
  const own = SECRETS[op.secret]!;
  const shifted = op.extra.some(([k]) => k.toLowerCase() === 'x-vault-namespace') || op.path.includes('/ns1/') !== (own.mount === 'ns1/secret');
  if (!shifted || !kvV2(own)) return [op.secret];
  const other = SECRETS.findIndex((s) => kvV2(s) && s.mount !== own.mount && s.name === own.name);
  return other < 0 ? [op.secret] : [op.secret, other];
}

function describeOp(op: Op): string {
  // Never a token: roles and shapes only.
  if (op.kind === 'read') {
    return `${op.method} ${op.path} as ${op.grave !== undefined ? 'a dead token' : op.role} (${op.tokenHeaders}${op.tokenHeaders.includes('other') ? ` with ${op.other}` : ''})${op.extra.length ? ` + ${op.extra.map(([k, v]) => `${k}: ${v}`).join(', ')}` : ''}`;
  }
  return JSON.stringify(op).replace(/"value":"[^"]*"/, '"value":…');
}

forEachBackend('adversarial: randomized differential check (Envoy vs Vault at the same moment)', function (kind) {
  this.timeout(15 * 60_000);
  let backend: Backend;
  const stacks: Stack[] = [];
  logsOnFailure(stacks, () => backend);

  before(async () => {
    backend = await startBackend(kind);
    await writePolicies(backend);
    await writePolicy(backend, 'shifting', SHIFTING_WIDE);
    if (hasNamespaces(kind)) {
      // OpenBao: ns1/secret is the mount `secret` in namespace ns1 (created the OpenBao way), which
      // /v1/ns1/secret/… and X-Vault-Namespace: ns1 + /v1/secret/… both name.
      await vaultApi(backend, 'POST', 'sys/namespaces/ns1', {});
      const mounted = await send(backend.url, 'POST', '/v1/sys/mounts/secret', [['x-vault-token', backend.rootToken], ['x-vault-namespace', 'ns1'], JSON_TYPE], JSON.stringify({ type: 'kv', options: { version: '2' } }));
      expect(mounted.status).to.equal(204);
    } else {
      await vaultApi(backend, 'POST', 'sys/mounts/ns1/secret', { type: 'kv', options: { version: '2' } });
    }
    await vaultApi(backend, 'POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
    await vaultApi(backend, 'POST', `auth/token/roles/${TOKEN_ROLE}`, { allowed_policies: [...new Set(Object.values(ROLE_POLICIES).flat())], orphan: false });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await backend?.close();
  });

  it(`${OPERATIONS} operations: no cached answer Vault refuses, stale answers only within bounds (seed ${SEED})`, async () => {
    const startedAt = Date.now();
    const stack = await cacheStack(backend, stacks, {
      cache: `static_secret_token_capability_refresh_interval = "${CAPABILITY_INTERVAL_MS / 1000}s"\n  static_secret_refresh_interval = "${SECRET_REFRESH_MS / 1000}s"`,
    });
    const rng = new Rng(SEED);
    process.stdout.write(`      differential [${kind}]: seed ${SEED} (replay: ADVERSARIAL_SEED=${SEED}), ${OPERATIONS} operations\n`);

    const mint = async (role: Exclude<Role, 'anon'>): Promise<Tok> => {
      // Made with the token role `diff` (auth/token/create/diff), so a revoke-prefix over it spares the root token
      // (a dev server's root token with a chosen id is itself made with auth/token/create).
      const auth = (await vaultApi(backend, 'POST', `auth/token/create/${TOKEN_ROLE}`, {
        policies: ROLE_POLICIES[role], ttl: role === 'short' ? `${SHORT_TTL_S}s` : '1h', ...(role === 'limited' ? { num_uses: LIMITED_USES } : {}),
      })).json.auth;
      const tok: Tok = { role, token: auth.client_token as string, accessor: auth.accessor as string, limited: role === 'limited' };
      if (role === 'short') {
        const info = await vaultApi(backend, 'POST', 'auth/token/lookup', { token: tok.token });
        tok.expireAt = Date.parse(info.json.data.expire_time as string);
      }
      return tok;
    };
    const live = new Map<Role, Tok>();
    for (const r of ROLES) if (r !== 'anon') live.set(r, await mint(r));
    const graveyard: Tok[] = [];
    const secretChangedAt = new Array<number>(SECRETS.length).fill(0);
    let shiftingWide = true;
    for (let i = 0; i < SECRETS.length; i++) {
      for (let v = 0; v <= i % 3; v++) await vaultApi(backend, 'POST', apiPath(SECRETS[i]!), writeBody(SECRETS[i]!, `init-${v}`));
    }

    const stats = { operations: 0, reads: 0, plainReads: 0, plainOk: 0, plainHits: 0, compared: 0, hits: 0, refusedButGranted: 0, refusedWithinBound: 0, staleWithinBound: 0, limitedReads: 0 };
    const failures: string[] = [];
    const limitedOk = new Map<string, number>();
    const seen = new Set<string>();
    const fail = (index: number, op: Op, what: string): void => {
      stats.refusedButGranted += what.startsWith('refused') ? 1 : 0;
      // One line per kind of failure (digits and secret names aside), so that one kind cannot hide another.
      const kindOf = `${what} ${describeOp(op)}`.replace(/\d+/g, '#');
      if (failures.length < 20 && !seen.has(kindOf)) failures.push(`op #${index} (seed ${SEED}): ${what}: ${describeOp(op)}`);
      seen.add(kindOf);
    };

    const tokenHeaders = (op: ReadOp, tok: Tok | undefined, other: Tok | undefined): Array<[string, string]> => {
      const t = tok?.token ?? '';
      const o = other?.token ?? '';
      switch (op.tokenHeaders) {
        case 'none': return [];
        case 'x-vault-token': return [['X-Vault-Token', t]];
        case 'bearer': return [['Authorization', `Bearer ${t}`]];
        case 'bearer-lower': return [['authorization', `bearer ${t}`]];
        case 'BEARER': return [['Authorization', `BEARER ${t}`]];
        case 'token+bearer-other': return [['X-Vault-Token', t], ['Authorization', `Bearer ${o}`]];
        case 'token-twice-other-second': return [['X-Vault-Token', t], ['X-Vault-Token', o]];
        case 'token-twice-other-first': return [['X-Vault-Token', o], ['X-Vault-Token', t]];
        case 'token-padded': return [['X-Vault-Token', ` ${t} `]];
        case 'token+bearer-same': return [['X-Vault-Token', t], ['Authorization', `Bearer ${t}`]];
        case 'empty-token+bearer': return [['X-Vault-Token', ''], ['Authorization', `Bearer ${t}`]];
        case 'empty-token-then-token': return [['X-Vault-Token', ''], ['X-Vault-Token', t]];
        case 'basic-then-bearer': return [['Authorization', 'Basic dXNlcjpwdw=='], ['Authorization', `Bearer ${t}`]];
        case 'bearer-other-then-bearer': return [['Authorization', `Bearer ${o}`], ['Authorization', `Bearer ${t}`]];
        case 'bearer-two-spaces': return [['Authorization', `Bearer  ${t}`]];
        case 'bearer-tab': return [['Authorization', `Bearer\t${t}`]];
        // One header holding two tokens: Vault takes the whole value (no such token).
        case 'token-comma-other': return [['X-Vault-Token', `${t}, ${o}`]];
        case 'bearer-comma-other': return [['Authorization', `Bearer ${t}, Bearer ${o}`]];
      }
    };

    // Only Vault's 403 (permission denied) can come from a revocation, a policy change or an
    // expiry; any other refusal (301, 400, 405) is about the request itself and no bound covers it.
    /** The token Vault uses (http/handler.go getTokenFromReq): the first X-Vault-Token, else `Authorization: Bearer ` (that case). */
    const effectiveToken = (op: ReadOp, tok: Tok | undefined, other: Tok | undefined): Tok | undefined => {
      switch (op.tokenHeaders) {
        case 'none': case 'bearer-lower': case 'BEARER': case 'empty-token-then-token': case 'bearer-tab': case 'token-comma-other':
        case 'bearer-comma-other': return undefined;
        case 'token-twice-other-first': case 'bearer-other-then-bearer': return other;
        default: return tok;
      }
    };

    const withinAccessBound = (toks: Tok[], sentAt: number, vaultStatus: number): boolean => vaultStatus === 403 && toks.some((t) =>
      (t.changedAt !== undefined && sentAt - t.changedAt <= ACCESS_BOUND_MS)
      || (t.expireAt !== undefined && Math.abs(sentAt - t.expireAt) <= EXPIRY_SKEW_MS));

    for (let index = 0; index < OPERATIONS; index++) {
      const op = genOp(rng);
      stats.operations++;
      switch (op.kind) {
        case 'read': {
          stats.reads++;
          const tok = op.role === 'anon' ? undefined : op.grave !== undefined && graveyard.length > 0 ? graveyard[op.grave % graveyard.length]! : live.get(op.role)!;
          const other = /other/.test(op.tokenHeaders) ? live.get(op.other)! : undefined;
          const effective = effectiveToken(op, tok, other);
          const involved = effective ? [effective] : [];
          const headers = [...tokenHeaders(op, tok, other), ...op.extra];
          const sentAt = Date.now();
          const viaEnvoy = await send(stack.url, op.method, op.path, headers);
          const hit = viaEnvoy.cache === 'HIT' && viaEnvoy.status >= 200 && viaEnvoy.status < 300;
          if (viaEnvoy.cache === 'HIT') stats.hits++;
          if (op.plain && op.grave === undefined) {
            stats.plainReads++;
            if (viaEnvoy.status === 200) stats.plainOk++;
            if (hit) stats.plainHits++;
          }
          if (effective?.limited) {
            // Never sent to Vault by the test (that would spend a use): a HIT is never allowed.
            stats.limitedReads++;
            if (viaEnvoy.status >= 200 && viaEnvoy.status < 300) limitedOk.set(effective.token, (limitedOk.get(effective.token) ?? 0) + 1);
            if (hit) fail(index, op, 'refused-but-granted: a use-limited token got a HIT');
            break;
          }
          const vault = await send(backend.url, op.method, op.path, headers);
          stats.compared++;
          if (!hit) break; // Vault answered it
          const stale = addressed(op).some((i) => sentAt - secretChangedAt[i]! <= STALE_BOUND_MS);
          if (vault.status < 200 || vault.status >= 300) {
            if (withinAccessBound(involved, sentAt, vault.status)) stats.refusedWithinBound++;
            else if (vault.status === 404 && stale) stats.staleWithinBound++;
            else fail(index, op, `refused-but-granted: HIT ${viaEnvoy.status}, Vault ${vault.status}`);
            break;
          }
          if (isDeepStrictEqual(viaEnvoy.json?.data, vault.json?.data) && vault.json?.wrap_info == null && vault.json?.help === undefined) break;
          if (stale && vault.json?.wrap_info == null && vault.json?.help === undefined) stats.staleWithinBound++;
          else fail(index, op, 'a HIT unlike Vault\'s answer (outside the staleness bound)');
          break;
        }
        case 'write': {
          const path = apiPath(SECRETS[op.secret]!);
          secretChangedAt[op.secret] = Date.now();
          if (op.via === 'direct') await vaultApi(backend, 'POST', path, writeBody(SECRETS[op.secret]!, op.value));
          else {
            const r = await send(stack.url, 'POST', `/v1/${path}`, [['X-Vault-Token', backend.rootToken], ['content-type', 'application/json']], JSON.stringify(writeBody(SECRETS[op.secret]!, op.value)));
            expect([200, 204], `op #${index}: a write through Envoy`).to.include(r.status);
          }
          secretChangedAt[op.secret] = Date.now();
          break;
        }
        case 'delete': {
          secretChangedAt[op.secret] = Date.now();
          await vaultApi(backend, 'DELETE', apiPath(SECRETS[op.secret]!));
          secretChangedAt[op.secret] = Date.now();
          break;
        }
        case 'policy': {
          shiftingWide = !shiftingWide;
          await writePolicy(backend, 'shifting', shiftingWide ? SHIFTING_WIDE : SHIFTING_NARROW);
          const changedAt = Date.now();
          for (const t of [...live.values(), ...graveyard]) if (t.role === 'shifty') t.changedAt = changedAt;
          break;
        }
        case 'revoke-direct': {
          const tok = live.get(op.role)!;
          await backend.revokeToken(tok.token);
          tok.changedAt = Date.now();
          graveyard.push(tok);
          live.set(op.role, await mint(op.role as Exclude<Role, 'anon'>));
          break;
        }
        case 'revoke-envoy': {
          const tok = live.get(op.role)!;
          if (tok.limited) { // revoke-self would spend a use and prove nothing more: revoke by accessor
            await vaultApi(backend, 'POST', 'auth/token/revoke-accessor', { accessor: tok.accessor });
            tok.changedAt = Date.now();
            graveyard.push(tok);
            live.set(op.role, await mint(op.role as Exclude<Role, 'anon'>));
            break;
          }
          const [method, path, headers, body]: [string, string, Array<[string, string]>, string | undefined] = (() => {
            const root: [string, string] = ['X-Vault-Token', backend.rootToken];
            const self: [string, string] = ['X-Vault-Token', tok.token];
            switch (op.how) {
              case 'revoke-self': case 'revoke-sel%66': case 'revoke%2Dself': return ['POST', `/v1/auth/token/${op.how}`, [self], undefined];
              case '/revoke-self/': case '//revoke-self': return ['POST', `/v1/auth/token${op.how}`, [self], undefined];
              case 'revoke-accessor': case 'revoke-accesso%72': {
                const b = JSON.stringify({ accessor: tok.accessor });
                return ['PUT', `/v1/auth/token/${op.how}`, [root, JSON_TYPE], b];
              }
              case 'revoke': { const b = JSON.stringify({ token: tok.token }); return ['PUT', '/v1/auth/token/revoke', [root, JSON_TYPE], b]; }
              // A form body (Vault reads application/x-www-form-urlencoded too).
              case 'revoke-form': return ['PUT', '/v1/auth/token/revoke', [root, ['content-type', 'application/x-www-form-urlencoded']], `token=${encodeURIComponent(tok.token)}`];
              // A repeated JSON key: Go's encoding/json keeps the last.
              case 'revoke-dup-key': {
                const b = `{"token":"hvs.not-a-token","token":${JSON.stringify(tok.token)}}`;
                return ['PUT', '/v1/auth/token/revoke', [root, JSON_TYPE], b];
              }
            }
          })();
          const r = await send(stack.url, method, path, headers, body);
          // Did Vault revoke it? (A path Vault redirects or does not know revokes nothing.)
          const check = await vaultApi(backend, 'POST', 'auth/token/lookup-accessor', { accessor: tok.accessor }).then(() => true, () => false);
          if (!check) {
            // Revoked through Envoy: no bound at all, from the moment Vault answered.
            if (r.status !== 204) tok.changedAt = Date.now(); // revoked, yet Vault's answer said otherwise: be fair
            graveyard.push(tok);
            live.set(op.role, await mint(op.role as Exclude<Role, 'anon'>));
          }
          break;
        }
        case 'revoke-prefix': {
          // Through Envoy: every token made with auth/token/create/diff (all of ours) is revoked.
          const r = await send(stack.url, 'PUT', `/v1/sys/leases/revoke-prefix/auth/token/create/${TOKEN_ROLE}`, [['X-Vault-Token', backend.rootToken]]);
          expect(r.status, `op #${index}: revoke-prefix through Envoy`).to.equal(204);
          for (const [role, tok] of [...live]) {
            graveyard.push(tok);
            live.set(role, await mint(role as Exclude<Role, 'anon'>));
          }
          break;
        }
        case 'mint': {
          const old = live.get(op.role)!;
          graveyard.push(old);
          live.set(op.role, await mint(op.role));
          break;
        }
      }
    }

    for (const [, n] of limitedOk) {
      if (n > LIMITED_USES) failures.push(`a use-limited token (num_uses ${LIMITED_USES}) got ${n} successful answers through Envoy (seed ${SEED})`);
    }
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    process.stdout.write(`      differential [${kind}]: seed ${SEED}, operations ${stats.operations}, reads ${stats.reads}, answers compared ${stats.compared}, `
      + `use-limited reads ${stats.limitedReads}, hits ${stats.hits} (plain reads by live tokens: ${stats.plainReads}, 200: ${stats.plainOk}, hits: ${stats.plainHits}), refused-but-granted ${stats.refusedButGranted}, `
      + `refused within the access bound ${stats.refusedWithinBound} (${ACCESS_BOUND_MS} ms), stale within bound ${stats.staleWithinBound} (${STALE_BOUND_MS} ms), `
      + `run time ${seconds} s\n`);
    expect(failures, `seed ${SEED}: replay with ADVERSARIAL_SEED=${SEED}`).to.deep.equal([]);
    expect(stats.operations).to.be.at.least(Math.min(OPERATIONS, 5_000));
  });
  it(`lease cache, ${LEASE_OPERATIONS} logins and token creations: no cached token Vault would refuse to give (seed ${SEED})`, async () => {
    const startedAt = Date.now();
    // The auto-auth token may create children: a child made through Envoy is managed, its creations are cached.
    const stack = await cacheStack(backend, stacks, {
      cache: 'static_secret_token_capability_refresh_interval = "1h"', leaseCache: true, useAutoAuthToken: true,
      workerPolicies: ['worker', 'creator', 'reader'],
    });
    const rng = new Rng(SEED ^ 0x5eed);
    process.stdout.write(`      differential lease [${kind}]: seed ${SEED} (replay: ADVERSARIAL_SEED=${SEED}), ${LEASE_OPERATIONS} operations\n`);
    const creds = await setupAppRole(backend, { role: 'lease-diff', policies: ['reader'] });
    const made = await send(stack.url, 'POST', '/v1/auth/token/create', [JSON_TYPE], JSON.stringify({ policies: ['reader', 'creator'], meta: { n: 'lease-parent' } }));
    expect(made.status).to.equal(200);
    const parent = made.json.auth.client_token as string;
    const stats = { operations: 0, compared: 0, hits: 0, refusedButGranted: 0, unlike: 0 };
    const failures: string[] = [];
    const seen = new Set<string>();

    for (let index = 0; index < LEASE_OPERATIONS; index++) {
      stats.operations++;
      const login = rng.next() < 0.5;
      const n = rng.int(4); // few distinct bodies, so that many are cached
      const fields: Record<string, unknown> = login ? { role_id: creds.roleId, secret_id: creds.secretId } : { policies: ['reader'], meta: { n: `c${n}` } };
      const canonical = JSON.stringify(fields);
      const bodyKind = rng.weighted([
        ['json', 60], ['reordered', 6], ['spaces', 5], ['dup-last-wrong', 4], ['dup-first-wrong', 3], ['form', 4], ['wrong', 4],
        ['trailing-junk', 3], ['two-bodies', 2], ['escaped', 3], ['empty', 2], ['extra-field', 4],
      ] as const);
      const firstKey = Object.keys(fields)[login ? 1 : 0]!;
      const body = ((): string => {
        switch (bodyKind) {
          case 'json': return canonical;
          case 'reordered': return JSON.stringify(Object.fromEntries(Object.entries(fields).reverse()));
          case 'spaces': return JSON.stringify(fields, null, 2);
          case 'dup-last-wrong': return `${canonical.slice(0, -1)},"${firstKey}":"wrong"}`;
          case 'dup-first-wrong': return `{"${firstKey}":"wrong",${canonical.slice(1)}`;
          case 'form': return Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v))}`).join('&');
          case 'wrong': return JSON.stringify({ ...fields, [firstKey]: login ? 'wrong' : ['root'] });
          case 'trailing-junk': return `${canonical}x`;
          case 'two-bodies': return `${canonical}${canonical}`;
          case 'escaped': return canonical.replace(/"([a-z])/, (_m, c: string) => `"\\u00${c.charCodeAt(0).toString(16)}`);
          case 'empty': return '';
          case 'extra-field': return JSON.stringify({ ...fields, [login ? 'role_name' : 'display_name']: 'x' });
        }
      })();
      const base = login ? '/v1/auth/approle/login' : '/v1/auth/token/create';
      const path = rng.weighted<string>([
        [base, 70], [`${base}/`, 5], [base.replace('/auth/', '/auth//'), 3], [base.replace('/auth/', '/auth/./'), 3],
        [base.replace(/(login|create)$/, (m) => `${m.slice(0, -1)}%${m.charCodeAt(m.length - 1).toString(16)}`), 5],
        [base.replace(/\/(login|create)$/, '%2F$1'), 3], [base.replace('/auth/', '/Auth/'), 2], [`${base}?x=1`, 3], [`${base}?help=1`, 3],
        [login ? '/v1/auth/approle/login/x' : '/v1/auth/token/create-orphan', 3],
      ]);
      const method = rng.weighted([['POST', 75], ['PUT', 10], ['post', 4], ['Post', 2], ['GET', 4], ['PATCH', 2], ['DELETE', 3]] as const);
      const contentType: Array<[string, string]> = bodyKind === 'form'
        ? [['content-type', 'application/x-www-form-urlencoded']]
        : rng.weighted<Array<[string, string]>>([[[JSON_TYPE], 80], [[], 10], [[['content-type', 'text/plain']], 5], [[['content-type', 'application/x-www-form-urlencoded']], 5]]);
      const token: Array<[string, string]> = login
        ? rng.weighted<Array<[string, string]>>([[[], 85], [[['x-vault-token', parent]], 10], [[['authorization', `Bearer ${parent}`]], 5]])
        : rng.weighted<Array<[string, string]>>([[[['x-vault-token', parent]], 80], [[['authorization', `Bearer ${parent}`]], 10], [[['x-vault-token', ` ${parent} `]], 5], [[['x-vault-token', parent], ['x-vault-token', 'hvs.other']], 5]]);
      const extra = rng.weighted<Array<[string, string]>>([
        [[], 70], [[['x-vault-wrap-ttl', '60s']], 6], [[['x-vault-mfa', 'm:123456']], 4], [[['x-vault-namespace', 'ns1']], 4],
        [[['x-vault-policy-override', 'true']], 3], [[['x-vault-inconsistent', 'forward-active-node']], 3], [[['x-vault-forward', 'active-node']], 3],
        [[['x-vault-index', 'abc']], 3], [[['x-vault-request', 'true']], 2], [[['x-vault-wrap-format', 'jwt']], 2],
      ]);
      const headers = [...token, ...contentType, ...extra];
      const viaEnvoy = await send(stack.url, method, path, headers, body === '' && !['POST', 'PUT', 'PATCH'].includes(method) ? undefined : body);
      const hit = viaEnvoy.cache === 'HIT' && viaEnvoy.status >= 200 && viaEnvoy.status < 300;
      if (viaEnvoy.cache === 'HIT') stats.hits++;
      if (!hit) continue;
      const vault = await send(backend.url, method, path, headers, body === '' && !['POST', 'PUT', 'PATCH'].includes(method) ? undefined : body);
      stats.compared++;
      const what = `op #${index} (seed ${SEED}): ${method} ${path} ${login ? 'login' : 'token create'} body=${bodyKind} ${[...contentType, ...extra].map(([k, v]) => `${k}: ${v}`).join(', ')}`;
      const kindOf = what.replace(/^op #\d+ \(seed \d+\): /, '').replace(/\d+/g, '#');
      if (vault.status < 200 || vault.status >= 300) {
        stats.refusedButGranted++;
        if (failures.length < 20 && !seen.has(kindOf)) failures.push(`refused-but-granted: HIT ${viaEnvoy.status}, Vault ${vault.status}: ${what}`);
        seen.add(kindOf);
        continue;
      }
      const shape = (r: Res): unknown => ({
        wrapped: r.json?.wrap_info != null, policies: r.json?.auth?.policies, metadata: r.json?.auth?.metadata ?? null,
        mfa: r.json?.auth?.mfa_requirement ?? null, renewable: r.json?.auth?.renewable, orphan: r.json?.auth?.orphan,
      });
      if (!isDeepStrictEqual(shape(viaEnvoy), shape(vault))) {
        stats.unlike++;
        if (failures.length < 20) failures.push(`a HIT unlike Vault's answer: ${JSON.stringify(shape(viaEnvoy))} vs ${JSON.stringify(shape(vault))}: ${what}`);
      }
    }
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    process.stdout.write(`      differential lease [${kind}]: seed ${SEED}, operations ${stats.operations}, hits ${stats.hits}, hits compared with Vault ${stats.compared}, `
      + `refused-but-granted ${stats.refusedButGranted}, unlike Vault's answer ${stats.unlike}, run time ${seconds} s\n`);
    expect(failures, `seed ${SEED}: replay with ADVERSARIAL_SEED=${SEED}`).to.deep.equal([]);
  });
}, { versions: 'all' });
