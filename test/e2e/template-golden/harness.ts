// The golden harness: seeds a Vault with test/fixtures/templates/setup.json, writes one config per
// side whose `template { … }` blocks are the same text (destinations relative to the side's own
// working directory), runs real Vault Agent 1.15.6 and vault-extproc with `exit_after_auth = true`,
// and reads back what each wrote.
import { spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_VAULT_BINARY } from '../../support/backend.js';
import { CLI, FIXTURES } from '../../support/paths.js';
import { vaultApi, writePolicy, type VaultTarget } from '../../support/vault-setup.js';
import type { GoldenCase } from './cases.js';

export const TEMPLATES = join(FIXTURES, 'templates');

interface SetupStep { method: string; path: string; body?: unknown; file?: string; pki?: boolean }
interface Setup { steps: SetupStep[]; env: Record<string, string>; envFile: { name: string; file: string } }

export const SETUP = JSON.parse(readFileSync(join(TEMPLATES, 'setup.json'), 'utf8')) as Setup;

/** The environment both processes get: ours without any VAULT_* (they override the config), plus setup.json's. */
export function goldenEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_') && !k.startsWith('GOLDEN_')));
  return { ...env, ...SETUP.env, [SETUP.envFile.name]: join(TEMPLATES, SETUP.envFile.file) };
}

/** Runs setup.json's steps with the root token (the pki ones only when `pki`); bodies from data/ are sent byte for byte. */
export async function seed(v: VaultTarget, opts: { pki: boolean }): Promise<void> {
  for (const step of SETUP.steps) {
    if (step.pki && !opts.pki) continue;
    const body = step.file !== undefined ? readFileSync(join(TEMPLATES, step.file), 'utf8') : JSON.stringify(step.body ?? {});
    const res = await fetch(`${v.url}/v1/${step.path}`, {
      method: step.method,
      headers: { 'x-vault-token': v.rootToken, 'content-type': 'application/json' },
      body,
    });
    if (res.status >= 400) throw new Error(`setup ${step.method} ${step.path}: ${res.status} ${await res.text()}`);
  }
}

/** A token of its own for one run (policy `golden`: everything), written to `file`. */
export async function goldenToken(v: VaultTarget, file: string): Promise<void> {
  await writePolicy(v, 'golden', 'path "*" { capabilities = ["create", "read", "update", "delete", "list"] }');
  const created = await vaultApi(v, 'POST', 'auth/token/create', { policies: ['golden'], ttl: '1h' });
  writeFileSync(file, String(created.json.auth.client_token), { mode: 0o600 });
}

function hclString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

/** Where a case's file goes, relative to the run's directory. */
export function destinationOf(c: GoldenCase): string {
  return c.destination ?? `out/${c.name}`;
}

/** The `template { … }` block of a case: the same text in both configs. */
export function templateBlock(c: GoldenCase): string {
  const path = join(TEMPLATES, c.file);
  const lines: string[] = [];
  const given = c.given ?? 'source';
  if (given === 'source') lines.push(`source = ${hclString(path)}`);
  else if (given === 'contents-quoted') lines.push(`contents = ${hclString(readFileSync(path, 'utf8'))}`);
  else {
    const text = readFileSync(path, 'utf8');
    if (!text.endsWith('\n') || text.includes('\nEOT\n')) throw new Error(`${c.file} cannot be given as a heredoc`);
    lines.push(`contents = <<EOT\n${text}EOT`);
  }
  lines.push(`destination = ${hclString(destinationOf(c))}`);
  if (c.errorOnMissingKey !== undefined) lines.push(`error_on_missing_key = ${c.errorOnMissingKey}`);
  if (c.leftDelimiter !== undefined) lines.push(`left_delimiter = ${hclString(c.leftDelimiter)}`);
  if (c.rightDelimiter !== undefined) lines.push(`right_delimiter = ${hclString(c.rightDelimiter)}`);
  if (c.perms !== undefined) lines.push(`perms = ${hclString(c.perms)}`);
  return `template {\n${lines.map((l) => `  ${l}`).join('\n')}\n}\n`;
}

export type Side = 'agent' | 'ours';

/** The whole config of one side: the same vault, auto_auth and template blocks; ours adds its extproc block. */
export function configText(side: Side, vaultAddr: string, cases: GoldenCase[], exitOnRetryFailure: boolean): string {
  const ours = side === 'ours' ? `extproc {\n  address = "127.0.0.1:0"\n  admin_address = "127.0.0.1:0"\n  tls_disable = true\n}\n` : '';
  return `vault {
  address = "${vaultAddr}"
}
exit_after_auth = true
auto_auth {
  method "token_file" {
    config {
      token_file_path = "token"
    }
  }
}
${exitOnRetryFailure ? 'template_config {\n  exit_on_retry_failure = true\n}\n' : ''}${ours}${cases.map(templateBlock).join('')}`;
}

export interface Rendered { bytes: Buffer; mode: number }

export interface RunResult {
  side: Side;
  code: number | null;
  timedOut: boolean;
  output: string;
  dir: string;
  /** What each case's destination holds after the run (undefined: no file). */
  files: Map<string, Rendered | undefined>;
}

const RUN_TIMEOUT_MS = 60_000;

/**
 * One run of one side: a fresh directory (its working directory: token file, config, out/), a
 * token of its own, the process started and waited for (it must exit by itself; killed after 60 s).
 */
export async function runSide(side: Side, v: VaultTarget, vaultAddr: string, cases: GoldenCase[], opts: { exitOnRetryFailure: boolean }): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `vxp-golden-${side}-`));
  mkdirSync(join(dir, 'out'));
  await goldenToken(v, join(dir, 'token'));
  const config = join(dir, 'config.hcl');
  writeFileSync(config, configText(side, vaultAddr, cases, opts.exitOnRetryFailure));
  const [cmd, args] = side === 'agent'
    ? [REAL_VAULT_BINARY, ['agent', '-config=config.hcl']]
    : [process.execPath, [CLI, 'serve', '--config', 'config.hcl']];
  const child = spawn(cmd, args, { cwd: dir, env: goldenEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => chunks.push(c));
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const files = new Map<string, Rendered | undefined>();
  for (const c of cases) {
    const path = join(dir, destinationOf(c));
    files.set(c.name, existsSync(path) ? { bytes: readFileSync(path), mode: statSync(path).mode & 0o777 } : undefined);
  }
  return { side, code, timedOut, output: Buffer.concat(chunks).toString('utf8'), dir, files };
}

export function removeRun(r: RunResult | undefined): void {
  if (r) rmSync(r.dir, { recursive: true, force: true });
}

/** The class of a template error: what Go's text/template says, without the template's name. */
export interface ErrorClass {
  line: number;
  col: number | undefined;
  /** `executing "…" at <…>`: the node (execution errors only). */
  at: string | undefined;
  message: string;
}

/** Every string a process printed: raw lines, hclog's `error="…"` values unquoted, pino's JSON string values. */
function printedStrings(output: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const line of output.split('\n')) {
    if (line.startsWith('{')) {
      try {
        walk(JSON.parse(line));
        continue;
      } catch {
        // not JSON
      }
    }
    for (const m of line.matchAll(/error="((?:[^"\\]|\\.)*)"/g)) {
      try {
        out.push(JSON.parse(`"${m[1]!}"`) as string);
      } catch {
        out.push(m[1]!);
      }
    }
    out.push(line);
  }
  return out;
}

const GO_ERROR = /template: [^:\n]*:(\d+)(?::(\d+))?: (?:executing "[^"]*" at <([^>]*)>: )?(.*)$/;

/** The first Go template error a process printed, as its class (undefined when none). */
export function errorClass(output: string): ErrorClass | undefined {
  for (const s of printedStrings(output)) {
    const m = GO_ERROR.exec(s);
    if (m) return { line: Number(m[1]), col: m[2] === undefined ? undefined : Number(m[2]), at: m[3], message: m[4]! };
  }
  return undefined;
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** PEM bodies and PKI serial numbers replaced by markers (the only normalisation the suite does). */
export function normalisePem(text: string): string {
  return text
    .replace(PEM, (_all, label: string) => `-----BEGIN ${label}-----\n<${label} body>\n-----END ${label}-----`)
    .replace(/\b[0-9a-f]{2}(?::[0-9a-f]{2}){7,}\b/g, '<serial number>');
}

/**
 * A fresh lease's per-issue values replaced by markers: the random id a lease id ends with
 * (`pki/issue/leased/<24 base62 characters>`), and its `lease_duration=` of a 1 h TTL, which
 * Vault itself answers as 3600 or 3599 (the certificate's NotAfter has whole seconds; seen both
 * in a row from the same Vault).
 */
export function normaliseLease(text: string): string {
  return text.replace(/\/[A-Za-z0-9]{24}(?=\s|$)/g, '/<lease id>').replace(/\blease_duration=(?:3599|3600)\b/g, 'lease_duration=<3600 or 3599>');
}

/** What each PEM block says: certificates' subject, issuer, names and key; private keys' type. */
export function pemFacts(text: string): Array<Record<string, string | undefined>> {
  return [...text.matchAll(PEM)].map((m) => {
    const label = m[1]!;
    if (label === 'CERTIFICATE') {
      const cert = new X509Certificate(m[0]);
      const key = cert.publicKey;
      return { label, subject: cert.subject, issuer: cert.issuer, subjectAltName: cert.subjectAltName, selfSigned: String(cert.subject === cert.issuer), key: `${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyDetails?.modulusLength ?? ''}` };
    }
    if (label.endsWith('PRIVATE KEY')) {
      const key = createPrivateKey(m[0]);
      return { label, key: `${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyDetails?.modulusLength ?? ''}` };
    }
    return { label };
  });
}

/** The self-signed certificates (the CA) in a text, verbatim. */
export function caBlocks(text: string): string[] {
  return [...text.matchAll(PEM)].filter((m) => m[1] === 'CERTIFICATE' && (() => {
    const c = new X509Certificate(m[0]);
    return c.subject === c.issuer;
  })()).map((m) => m[0]);
}

/** A short, printable rendering of bytes for failure messages (JSON-escaped). */
export function show(b: Buffer | undefined): string {
  return b === undefined ? '(no file)' : JSON.stringify(b.toString('utf8'));
}

/** The last lines of a process's output, for failure messages. */
export function tail(output: string, lines = 15): string {
  return output.split('\n').slice(-lines).join('\n');
}
