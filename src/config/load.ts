import { readFileSync } from 'node:fs';
import { AppError, errorMessage } from '../errors.js';
import { buildConfig } from './build.js';
import { applyVaultEnv, checkUpstreamLoop, vaultAddressProblem, type EnvOverride } from './env.js';
import { isLabelWrapper, positionOf } from './hcl-parse.js';
import { readProcessKeys, withoutProcessKeys, type ProcessSettings } from './process-keys.js';
import { checkReferencedFiles } from './files.js';
import { checkFleetFiles } from './fleet.js';
import { fileError } from './methods/credential-file.js';
import { decodeConfigText } from './hcl.js';
import { Problems, type Problem } from './problems.js';
import { BlockReader } from './reader.js';
import type { Config } from './types.js';

export interface LoadedConfig {
  config: Config;
  problems: Problem[];
  errors: Problem[];
  warnings: Problem[];
  /** Errors plus the warnings that `serve` refuses to run with. */
  serveBlockers: Problem[];
  /** Settings Vault's environment variables gave (VAULT_ADDR …), which `check` and `serve` show. */
  envOverrides: EnvOverride[];
  /** log_level, log_format, disable_idle_connections, disable_keep_alives (top-level keys). */
  process: ProcessSettings;
}

/** Parses config text (HCL v1 or JSON) and applies Vault's env overrides. Never throws for content problems. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const problems = new Problems();
  let raw: Record<string, unknown>;
  try {
    raw = decodeConfigText(text, file);
  } catch (err) {
    problems.error('', errorMessage(err).replace(`${file}: `, ''));
    raw = {};
  }
  // A file that does not parse has nothing more to say: its (empty) config is built without problems.
  const parsed = problems.errors.length === 0;
  const settings = readProcessKeys(raw, parsed ? problems : new Problems(), env);
  const config = buildConfig(new BlockReader(withoutProcessKeys(raw), '', parsed ? problems : new Problems()));
  if (!parsed) return loaded(config, problems, [], settings);
  const vaultBlock = firstBody(raw['vault']);
  const fileSet = (setting: string): boolean => setting.split(' > ').reduce<unknown>((o, k) => firstBody(o)?.[k], vaultBlock) !== undefined;
  const envOverrides = [...applyVaultEnv(config, env, problems, fileSet), ...settings.envOverrides];
  // The address Envoy and the worker will use, judged as Vault's client judges it.
  const fromEnv = envOverrides.some((o) => o.variable === 'VAULT_ADDR');
  const addressAt = fromEnv ? 'env VAULT_ADDR' : 'vault > address';
  const position = fromEnv || !vaultBlock ? undefined : positionOf(vaultBlock, 'address');
  const addressProblem = vaultAddressProblem(config.vault.address);
  if (addressProblem) problems.error(addressAt, `Vault refuses this address: ${addressProblem}`, position);
  const before = problems.list.length;
  checkUpstreamLoop(config, problems, addressAt);
  if (position) for (const p of problems.list.slice(before)) p.position = position;
  checkAddressClashes(config, problems);
  placeProblems(problems.list, raw);
  return loaded(config, problems, envOverrides, settings);
}

function firstBody(v: unknown): Record<string, unknown> | undefined {
  const body = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : undefined;
}

function loaded(config: Config, problems: Problems, envOverrides: EnvOverride[], process: ProcessSettings): LoadedConfig {
  return { config, problems: problems.list, errors: problems.errors, warnings: problems.warnings, serveBlockers: problems.serveBlockers, envOverrides, process };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Also check the files the config names (TLS files, credential files, sink and pid_file
   * directories) as `serve` needs them. Default true; `envoy-config` and `check --config-only`
   * (a config written for another machine) leave them out.
   */
  files?: boolean;
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${fileError(err)}`, { cause: err });
  }
  const result = parseConfig(text, file, opts.env ?? process.env);
  let raw: Record<string, unknown> = {};
  try {
    raw = decodeConfigText(text, file);
  } catch {
    // Already reported by parseConfig.
  }
  if (opts.files === false) return result;
  const problems = new Problems();
  problems.list.push(...result.problems);
  checkReferencedFiles(result.config, problems);
  if (result.config.fleet) checkFleetFiles(result.config.fleet, problems, opts.env ?? process.env);
  placeProblems(problems.list, raw);
  return loaded(result.config, problems, result.envOverrides, result.process);
}

/**
 * Two servers cannot listen on one address: the ext_proc server, the admin server and Envoy's
 * listeners (each pair compared; a wildcard host overlaps every host on the same port; port 0 is
 * "any free port" and never clashes; a unix socket path clashes only with the same path).
 */
function checkAddressClashes(config: Config, problems: Problems): void {
  const named: Array<{ location: string; address: string }> = [
    { location: 'extproc > address', address: config.extproc.address },
    { location: 'extproc > admin_address', address: config.extproc.adminAddress },
    ...config.listeners.map((l, i) => ({
      location: config.listeners.length > 1 ? `listener #${i + 1} > address` : 'listener > address',
      address: l.address,
    })),
  ];
  for (let i = 1; i < named.length; i++) {
    for (let j = 0; j < i; j++) {
      if (clash(named[i]!.address, named[j]!.address)) {
        problems.error(named[i]!.location, `${named[i]!.address} is also ${named[j]!.location} (${named[j]!.address}): two servers cannot listen on one address`);
        break;
      }
    }
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function endpoint(address: string): { host: string; port: number } | { path: string } | undefined {
  if (address.startsWith('unix:')) return { path: address.replace(/^unix:(\/\/)?/, '') };
  const m = /^(.*):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const host = m[1]!.toLowerCase();
  return { host: host === 'localhost' ? '127.0.0.1' : host === '[::1]' ? '::1' : host, port: Number(m[2]) };
}

function clash(a: string, b: string): boolean {
  const x = endpoint(a);
  const y = endpoint(b);
  if (!x || !y) return false;
  if ('path' in x || 'path' in y) return 'path' in x && 'path' in y && x.path === y.path;
  if (x.port === 0 || x.port !== y.port) return false;
  return x.host === y.host || WILDCARDS.has(x.host) || WILDCARDS.has(y.host);
}

/**
 * Gives a position to each problem found after reading (files the config names, address clashes):
 * its location (`auto_auth > sink "file" #2 > config > path`) is looked up in the decoded file.
 */
function placeProblems(list: Problem[], raw: Record<string, unknown>): void {
  for (const p of list) {
    if (p.position || p.location === '' || p.location.startsWith('env ')) continue;
    const position = positionAt(raw, p.location);
    if (position) p.position = position;
  }
}

function positionAt(raw: Record<string, unknown>, location: string): Problem['position'] {
  let body: Record<string, unknown> = raw;
  const segments = location.split(' > ');
  for (let i = 0; i < segments.length; i++) {
    const m = /^([^ "#]+)(?: "([^"]*)")?(?: #(\d+))?$/.exec(segments[i]!);
    if (!m) return undefined;
    const [, name, label, nth] = m;
    if (i === segments.length - 1 && label === undefined && nth === undefined) return positionOf(body, name!) ?? undefined;
    const value = body[name!];
    const items = (Array.isArray(value) ? value : [value]).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
    // Bodies in file order, a labelled block's body under its label (as BlockReader.blocks numbers them).
    const found: Array<{ body: Record<string, unknown>; label?: string }> = [];
    for (const item of items) {
      const keys = Object.keys(item);
      const inner = keys.length === 1 ? item[keys[0]!] : undefined;
      if (isLabelWrapper(item) && Array.isArray(inner)) for (const b of inner) found.push({ body: b as Record<string, unknown>, label: keys[0]! });
      else found.push({ body: item });
    }
    const pick = nth !== undefined ? found[Number(nth) - 1] : found.find((f) => f.label === label) ?? (label === undefined ? found[0] : undefined);
    if (!pick || (nth === undefined && label !== undefined && pick.label !== label)) return undefined;
    if (i === segments.length - 1) return positionOf(pick.body) ?? undefined;
    body = pick.body;
  }
  return undefined;
}
