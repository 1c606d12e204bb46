/**
 * Vault Agent's `template` and `template_config` stanzas, read as Vault Agent 1.15.6 reads them
 * (command/agent/config parseTemplates: consul-template's TemplateConfig through mapstructure, then
 * its Finalize defaults), plus `max_connections_per_host` and `lease_renewal_threshold` of later
 * Agents. `checkTemplateFiles` reports what `serve` would trip on: a source that cannot be read, a
 * destination directory that is missing (without create_dest_dirs) or not writable.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDurationSeconds } from './duration.js';
import { directoryProblem } from './writable-dir.js';
import { fileError } from './methods/credential-file.js';
import type { Problems } from './problems.js';
import type { BlockReader } from './reader.js';

export interface TemplateConfig {
  /** `source`: the template file (read at start, as consul-template reads it once). */
  source?: string;
  /** `contents`: the template text itself. Exactly one of source and contents. */
  contents?: string;
  destination: string;
  /** `create_dest_dirs` (consul-template's default: true). */
  createDestDirs: boolean;
  /** `perms`: the file mode; absent keeps an existing file's mode, else 0644 (consul-template). */
  perms?: number;
  /** `user`/`group` (name or numeric id): the rendered file's owner. */
  user?: string;
  group?: string;
  /** `command` or `exec { command }`: one string runs with `sh -c` when it has spaces; a list runs as is. */
  command: string[];
  /** `exec { timeout }`, else `command_timeout`, else 30 s. */
  commandTimeoutSeconds: number;
  errorOnMissingKey: boolean;
  leftDelimiter?: string;
  rightDelimiter?: string;
  /** `backup`: the previous file is kept as DEST.bak. */
  backup: boolean;
  /** `wait { min max }` (or "min:max"): renders are debounced; absent: render at once. */
  wait?: { minSeconds: number; maxSeconds: number };
  /** Where the block is in the config, for messages: `template #2`. */
  location: string;
}

/** `template_config` (Vault Agent), with its defaults. */
export interface TemplateSettings {
  exitOnRetryFailure: boolean;
  /** static_secret_render_interval (default 5m): how often secrets with no lease are read again. */
  staticSecretRenderIntervalSeconds: number;
  /** max_connections_per_host (default 10): Vault connections the templates use at once. */
  maxConnectionsPerHost: number;
  /** lease_renewal_threshold (default 0.9): non-renewable leased secrets are read again at this fraction of their lease. */
  leaseRenewalThreshold: number;
}

export const TEMPLATE_DEFAULTS = {
  commandTimeoutSeconds: 30,
  staticSecretRenderIntervalSeconds: 300,
  maxConnectionsPerHost: 10,
  leaseRenewalThreshold: 0.9,
  filePerms: 0o644,
} as const;

const TEMPLATE_KEYS = [
  'source', 'contents', 'destination', 'create_dest_dirs', 'perms', 'user', 'group', 'uid', 'gid', 'command', 'command_timeout', 'exec',
  'error_on_missing_key', 'error_fatal', 'left_delimiter', 'right_delimiter', 'backup', 'wait', 'function_denylist', 'function_blacklist', 'sandbox_path',
];

/** Every `template` block, in file order. */
export function readTemplates(root: BlockReader): TemplateConfig[] {
  const out: TemplateConfig[] = [];
  // Vault Agent's template blocks take no label: `template { ... }`.
  for (const b of root.blocks('template', TEMPLATE_KEYS, false)) {
    const t = readTemplate(b);
    if (t) out.push(t);
  }
  return out;
}

function readTemplate(b: BlockReader): TemplateConfig | undefined {
  const source = b.string('source') || undefined;
  const contents = b.string('contents') || undefined;
  const destination = b.string('destination') ?? '';
  let ok = true;
  // consul-template's words (template.NewTemplate), which Vault Agent prints when it starts the runner.
  if (source !== undefined && contents !== undefined) {
    b.error('contents', "template: cannot specify both 'source' and 'contents'");
    ok = false;
  } else if (source === undefined && contents === undefined) {
    b.error('', "template: must specify exactly one of 'source' or 'contents'");
    ok = false;
  }
  if (destination === '') {
    // consul-template's renderer refuses to write nowhere (renderer.ErrMissingDest) when the template renders.
    b.error('destination', 'is required (the file the template is rendered to)');
    ok = false;
  }
  const perms = readPerms(b);
  const wait = readWait(b);
  const command = readCommand(b, 'command');
  const commandTimeout = b.duration('command_timeout');
  const exec = readExec(b);
  const uid = b.int('uid');
  const gid = b.int('gid');
  const user = b.string('user') ?? (uid !== undefined ? String(uid) : undefined);
  const group = b.string('group') ?? (gid !== undefined ? String(gid) : undefined);
  const createDestDirs = b.bool('create_dest_dirs') ?? true;
  const errorOnMissingKey = b.bool('error_on_missing_key') ?? false;
  const backup = b.bool('backup') ?? false;
  const leftDelimiter = b.string('left_delimiter') || undefined;
  const rightDelimiter = b.string('right_delimiter') || undefined;
  b.bool('error_fatal');
  for (const key of ['function_denylist', 'function_blacklist']) b.unimplemented(key, `${key} (vault-extproc's template functions run nothing on the host: no plugin, no sockaddr, no executable)`);
  b.unimplemented('sandbox_path', 'sandbox_path (the file function reads any file the service may read)');
  b.finish();
  if (!ok) return undefined;
  const finalCommand = exec?.command ?? command;
  return {
    ...(source !== undefined ? { source } : {}),
    ...(contents !== undefined ? { contents } : {}),
    destination,
    createDestDirs,
    ...(perms !== undefined ? { perms } : {}),
    ...(user ? { user } : {}),
    ...(group ? { group } : {}),
    command: finalCommand,
    commandTimeoutSeconds: exec?.timeoutSeconds ?? commandTimeout ?? TEMPLATE_DEFAULTS.commandTimeoutSeconds,
    errorOnMissingKey,
    ...(leftDelimiter ? { leftDelimiter } : {}),
    ...(rightDelimiter ? { rightDelimiter } : {}),
    backup,
    ...(wait ? { wait } : {}),
    location: b.location,
  };
}

/** `perms = 0600` (octal-decoded by HCL) or `perms = "0600"` (read as octal, as consul-template's StringToFileModeFunc). */
function readPerms(b: BlockReader): number | undefined {
  if (!b.has('perms')) return undefined;
  const raw = b.raw['perms'];
  b.accept('perms');
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const mode = typeof v === 'string' && /^[0-7]{1,4}$/.test(v.trim()) ? parseInt(v.trim(), 8) : v;
  if (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode === 0 ? undefined : mode;
  b.error('perms', `must be a file mode such as "0600", got ${JSON.stringify(v)}`);
  return undefined;
}

/**
 * `command = "a b"` or `command = ["a", "b"]` (consul-template's commandList). Vault Agent decodes it
 * with mapstructure's StringToSliceHookFunc(","), so a string is split on commas: `"a, b"` is the
 * list ["a", " b"]. One element with spaces runs with `sh -c` (consul-template's CommandPrep).
 */
function readCommand(b: BlockReader, key: string): string[] {
  if (!b.has(key)) return [];
  const raw = b.raw[key];
  b.accept(key);
  if (typeof raw === 'string') return raw === '' ? [] : raw.split(',');
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return (raw as string[]).filter((x, i) => i > 0 || x !== '');
  b.error(key, `must be a string or a list of strings, got ${JSON.stringify(raw)}`);
  return [];
}

/** `exec { command timeout }` (the last block wins, as Vault Agent flattens it). */
function readExec(b: BlockReader): { command?: string[]; timeoutSeconds?: number } | undefined {
  const blocks = b.blocks('exec', ['command', 'timeout', 'enabled', 'env', 'kill_signal', 'kill_timeout', 'reload_signal', 'splay'], false);
  const e = blocks[blocks.length - 1];
  if (!e) return undefined;
  const command = readCommand(e, 'command');
  const timeoutSeconds = e.duration('timeout');
  for (const key of ['enabled', 'env', 'kill_signal', 'kill_timeout', 'reload_signal', 'splay']) e.unimplemented(key, `exec > ${key} (a template's command runs once per change; no child process is supervised)`);
  e.finish();
  return { ...(command.length ? { command } : {}), ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
}

/** `wait { min = "2s" max = "10s" }` or `wait = "2s:10s"`; a max left out is 4 × min (consul-template). */
function readWait(b: BlockReader): TemplateConfig['wait'] {
  if (!b.has('wait')) return undefined;
  const raw = b.raw['wait'];
  if (typeof raw === 'string') {
    b.accept('wait');
    const parts = raw.trim().split(':');
    try {
      if (parts.length > 2 || raw.trim() === '') throw new Error('format');
      const min = parseDurationSeconds(parts[0]!.trim());
      const max = parts.length === 2 ? parseDurationSeconds(parts[1]!.trim()) : 4 * min;
      return checkedWait(b, min, max);
    } catch {
      b.error('wait', `must be "min:max" durations such as "2s:10s", got ${JSON.stringify(raw)}`);
      return undefined;
    }
  }
  const blocks = b.blocks('wait', ['min', 'max', 'enabled'], false);
  const w = blocks[blocks.length - 1];
  if (!w) return undefined;
  const min = w.duration('min');
  const max = w.duration('max');
  w.bool('enabled');
  w.finish();
  if (!min && !max) return undefined; // consul-template: enabled only when min is set
  return checkedWait(b, min ?? 0, max ?? 4 * (min ?? 0));
}

function checkedWait(b: BlockReader, minSeconds: number, maxSeconds: number): TemplateConfig['wait'] {
  if (minSeconds < 0 || maxSeconds < 0) {
    b.error('wait', 'cannot be negative');
    return undefined;
  }
  if (maxSeconds < minSeconds) {
    b.error('wait', 'max must be larger than min');
    return undefined;
  }
  return minSeconds === 0 ? undefined : { minSeconds, maxSeconds };
}

/** `template_config` (at most one, as Vault Agent). */
export function readTemplateSettings(root: BlockReader): TemplateSettings {
  const settings: TemplateSettings = {
    exitOnRetryFailure: false,
    staticSecretRenderIntervalSeconds: TEMPLATE_DEFAULTS.staticSecretRenderIntervalSeconds,
    maxConnectionsPerHost: TEMPLATE_DEFAULTS.maxConnectionsPerHost,
    leaseRenewalThreshold: TEMPLATE_DEFAULTS.leaseRenewalThreshold,
  };
  const all = root.blocks('template_config', [], false);
  if (all.length > 1) root.error('template_config', 'at most one "template_config" block is allowed');
  const b = all[0];
  if (!b) return settings;
  settings.exitOnRetryFailure = b.bool('exit_on_retry_failure') ?? false;
  const interval = b.duration('static_secret_render_interval');
  if (interval) settings.staticSecretRenderIntervalSeconds = interval;
  const conns = b.int('max_connections_per_host');
  if (conns !== undefined) {
    if (conns < 1) b.error('max_connections_per_host', `must be at least 1, got ${conns}`);
    else settings.maxConnectionsPerHost = conns;
  }
  if (b.has('lease_renewal_threshold')) {
    const raw = b.raw['lease_renewal_threshold'];
    b.accept('lease_renewal_threshold');
    const v = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1) settings.leaseRenewalThreshold = v;
    else b.error('lease_renewal_threshold', `must be a fraction between 0 and 1 such as 0.9, got ${JSON.stringify(raw)}`);
  }
  b.finish();
  return settings;
}

/** What `serve` needs of each template's files, reported by `check`. */
export function checkTemplateFiles(templates: readonly TemplateConfig[], problems: Problems): void {
  for (const t of templates) {
    if (t.source !== undefined) {
      try {
        if (statSync(t.source).isDirectory()) problems.error(`${t.location} > source`, `cannot read ${t.source}: is a directory`);
        else readFileSync(t.source);
      } catch (err) {
        problems.error(`${t.location} > source`, `cannot read ${t.source}: ${fileError(err)}`);
      }
    }
    const dir = dirname(t.destination);
    try {
      if (statSync(t.destination).isDirectory()) {
        problems.error(`${t.location} > destination`, `${t.destination} is a directory`);
        continue;
      }
    } catch {
      // absent: it is created
    }
    const problem = directoryProblem(dir, t.createDestDirs, ' and create_dest_dirs is false');
    if (problem) problems.error(`${t.location} > destination`, `${t.destination} cannot be written: ${problem}`);
  }
}
