/**
 * consul-template's template functions, as Vault Agent 1.15.6 runs them (consul-template
 * v0.36.1-0.20240213145952-6c83e89b48af). `createFuncs(ctx)` gives the FuncMap a template is parsed
 * with; the Vault functions read through `ctx.vault` and record what they read in `ctx.used`.
 */
import type { FuncMap, TemplateFunc } from '../types.js';
import { collectionFuncs } from './collections.js';
import { encodingFuncs } from './encoding.js';
import { envFuncs } from './env.js';
import { mathFuncs } from './math.js';
import { parseFuncs } from './parse.js';
import { pkiFuncs } from './pki.js';
import { scratchFuncs } from './scratch.js';
import { stringFuncs } from './strings.js';
import { vaultFuncs } from './vault.js';
import { tomlFuncs } from './toml.js';
import { yamlFuncs } from './yaml.js';

export { consulTemplateExecuteError, consulTemplateParseError, redactSecretValues } from './errors.js';
export { FileDependencyError } from './env.js';
export { secretsReadWith, Secret, SecretAuth, SecretWrapInfo, VaultDependencyError, shimKVv2Path, shimKvV2ListPath } from './vault.js';
export { PemEncoded, pkiGoodForMs } from './pki.js';
export { GoFuncError, goStringToBytes, goStringFromBytes, goErrorfNoArgs, type GoParam, type GoSignature } from './go.js';
import { argStrings, GoFuncError, withSignature, type GoParam } from './go.js';

/** The raw HTTP answer. */
export interface VaultAnswer { status: number; text: string }

export interface TemplateVault {
  /** A request with the auto-auth token (the renderer routes it through the caches). `path` has no /v1/ prefix. */
  request(method: 'GET' | 'LIST' | 'PUT' | 'POST', path: string, body?: unknown): Promise<VaultAnswer>;
}

/** What a render used, so the renderer knows when to render again. */
export interface TemplateDependency {
  kind: 'secret' | 'secrets' | 'pkiCert' | 'file';
  /** As read (after consul-template's KV v2 /data/ insertion). */
  path: string;
  leaseId?: string;
  leaseDurationSeconds?: number;
  renewable?: boolean;
  kvVersion?: 1 | 2;
  /** pkiCert: the cert's NotAfter (ms). */
  expiresAtMs?: number;
}

export interface RenderContext {
  vault: TemplateVault;
  env(name: string): string | undefined;
  readFile(path: string): Promise<string>;
  /** The template's destination (pkiCert reads the current cert there, as consul-template does). */
  destination?: string;
  /** Functions push what they read. */
  used: TemplateDependency[];
  /** The clock (timestamp, KV v2 deletion_time, certificate validity); default the system clock. */
  now?: () => Date;
  /** When given, `file` reads bytes with it (a binary file's bytes survive, see goStringToBytes). */
  readFileBytes?(path: string): Promise<Uint8Array>;
  /** consul-template's sandbox_path: `file` refuses a path (symlinks resolved) outside it. */
  sandboxPath?: string;
  /** consul-template's function_denylist: these functions fail with "function is disabled". */
  functionDenylist?: readonly string[];
}


/**
 * consul-template's functions that vault-extproc does not register (a template naming one fails to
 * parse with text/template's `function "X" not defined`), and why.
 */
export const UNSUPPORTED_FUNCTIONS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(['datacenters', 'key', 'keyExists', 'keyOrDefault', 'ls', 'safeLs', 'node', 'nodes', 'peerings',
    'service', 'connect', 'services', 'tree', 'safeTree', 'caRoots', 'caLeaf', 'byKey', 'byTag', 'byMeta']
    .map((f) => [f, 'a Consul function (or a helper over Consul results): vault-extproc reads only Vault'])),
  ...Object.fromEntries(['nomadServices', 'nomadService', 'nomadVarList', 'nomadVarListSafe', 'nomadVar', 'nomadVarExists']
    .map((f) => [f, 'a Nomad function: vault-extproc reads only Vault'])),
  plugin: 'runs an arbitrary program from the template; not in a shared fleet worker',
  writeToFile: 'writes arbitrary files with chosen owners from the template; not in a shared fleet worker',
  executeTemplate: 'needs the engine\'s named-template set at call time (the engine\'s own `template` action covers it)',
  sockaddr: 'go-sockaddr\'s own template language (interface addresses of the host)',
  spew_dump: 'a debugging dump of Go values (go-spew)', spew_printf: 'a debugging dump of Go values (go-spew)',
  spew_sdump: 'a debugging dump of Go values (go-spew)', spew_sprintf: 'a debugging dump of Go values (go-spew)',
  'sprig_*': 'the Sprig library (about 200 functions) under a sprig_ prefix; not implemented',
};

/** The functions a template may call (Go's builtins come from the engine). */
export function createFuncs(ctx: RenderContext): FuncMap {
  const now = ctx.now ?? (() => new Date());
  const funcs: Record<string, TemplateFunc> = {
    ...vaultFuncs(ctx, now),
    ...pkiFuncs(ctx, now),
    ...envFuncs(ctx, now),
    ...encodingFuncs,
    ...yamlFuncs,
    ...tomlFuncs,
    ...stringFuncs,
    ...collectionFuncs,
    ...parseFuncs,
    ...mathFuncs,
    ...scratchFuncs(),
  };
  for (const [name, fn] of Object.entries(funcs)) {
    const sig = SIGNATURES[name];
    if (!sig) continue;
    const [params, variadic = null] = sig;
    // text/template's arity check, for an engine that passes every argument through.
    const checked = (...args: unknown[]): unknown => {
      if (variadic === null ? args.length !== params.length : args.length < params.length) {
        throw new GoFuncError(`wrong number of args for ${name}: want ${variadic === null ? '' : 'at least '}${params.length} got ${args.length}`);
      }
      return fn(...args);
    };
    funcs[name] = withSignature(checked, params, variadic);
  }
  for (const name of ctx.functionDenylist ?? []) {
    if (!(name in funcs)) continue;
    // consul-template's `denied(...string)`: string arguments, then always an error.
    funcs[name] = withSignature((...args: unknown[]) => {
      argStrings(args);
      throw new GoFuncError('function is disabled');
    }, [], 'string');
  }
  return Object.freeze(funcs);
}

const S: GoParam = 'string';
const A: GoParam = 'any';
/** consul-template's Go signatures (template/funcs.go), by function. */
const SIGNATURES: Readonly<Record<string, readonly [GoParam[], GoParam?]>> = {
  secret: [[], S], secrets: [[S]], pkiCert: [[], S],
  env: [[S]], mustEnv: [[S]], envOrDefault: [[S, S]], file: [[S]], timestamp: [[], S],
  base64Decode: [[S]], base64Encode: [[S]], base64URLDecode: [[S]], base64URLEncode: [[S]],
  toJSON: [[A]], toJSONPretty: [[A]], toUnescapedJSON: [[A]], toUnescapedJSONPretty: [[A]], parseJSON: [[S]],
  toYAML: [[A]], parseYAML: [[S]], toTOML: [[A]], scratch: [[]],
  trim: [[S, S]], trimPrefix: [[S, S]], trimSuffix: [[S, S]], trimSpace: [[S]], toLower: [[S]], toUpper: [[S]], toTitle: [[S]],
  replaceAll: [[S, S, S]], regexReplaceAll: [[S, S, S]], regexMatch: [[S, S]], indent: [['int', S]],
  contains: [[A, A]], in: [[A, A]],
  containsAll: [['[]interface {}', A]], containsAny: [['[]interface {}', A]], containsNone: [['[]interface {}', A]], containsNotAll: [['[]interface {}', A]],
  split: [[S, S]], join: [[S, '[]string']], splitToMap: [[S, S, S]],
  explode: [['[]*dependency.KeyPair']], explodeMap: [['map[string]interface {}']], loop: [[], A],
  mergeMap: [['map[string]interface {}', 'map[string]interface {}']], mergeMapWithOverride: [['map[string]interface {}', 'map[string]interface {}']],
  parseBool: [[S]], parseInt: [[S]], parseUint: [[S]], parseFloat: [[S]],
  sha256Hex: [[S]], md5sum: [[S]], hmacSHA256Hex: [[S, S]],
  add: [[A, A]], subtract: [[A, A]], multiply: [[A, A]], divide: [[A, A]], modulo: [[A, A]], minimum: [[A, A]], maximum: [[A, A]],
};
