/**
 * consul-template's pkiCert (dependency/vault_pki.go): issue a certificate with `PUT <path>` and
 * the k=v arguments, or reuse the certificate already at the template's destination while 90% of
 * what is left of it is more than 10% of its lifetime. Returns PemEncoded (Cert, Key, CA as PEM
 * blocks re-encoded with a final newline).
 */
import { X509Certificate } from 'node:crypto';
import { GoStruct } from '../types.js';
import { argStrings, goQuote, isPlainObject, GoFuncError } from './go.js';
import { compareBytes } from './encoding.js';
import type { RenderContext, TemplateDependency } from './index.js';
import { cleanPath, kvArgs, splitQuery, VaultDependencyError, writeAnswer, type ApiSecret } from './vault.js';

/** consul-template's dependency.PemEncoded (what pkiCert returns); `.Data` gives the same three fields. */
export class PemEncoded extends GoStruct {
  readonly goTypeName: string = 'dependency.PemEncoded';
  /** Names that are Go methods, not fields (left out by toJSON/toYAML). */
  static readonly goMethodFields: readonly string[] = ['Data'];
  Cert = '';
  Key = '';
  CA = '';
}

interface PemBlock { type: string; headers: [string, string][]; bytes: Buffer }

/** encoding/pem.Decode of one block (headers kept), or null. */
function pemDecode(text: string): PemBlock | null {
  const m = /(?:^|\n)-----BEGIN ([^\n]*?)-----[ \t\r]*\n([\s\S]*?)\n-----END \1-----/.exec(text);
  if (!m) return null;
  let body = m[2]!;
  const headers: [string, string][] = [];
  const lines = body.split('\n');
  let k = 0;
  while (k < lines.length && /^[^:\s][^:]*:/.test(lines[k]!)) {
    const line = lines[k]!;
    const c = line.indexOf(':');
    headers.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
    k++;
  }
  if (headers.length > 0) {
    if (lines[k]?.trim() !== '') return null;
    body = lines.slice(k + 1).join('\n');
  }
  const b64 = body.replace(/[\r\n \t]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  return { type: m[1]!, headers, bytes: Buffer.from(b64, 'base64') };
}

/** encoding/pem.EncodeToMemory. */
function pemEncode(b: PemBlock): string {
  let out = `-----BEGIN ${b.type}-----\n`;
  if (b.headers.length > 0) {
    const procType = b.headers.filter(([k]) => k === 'Proc-Type');
    const others = b.headers.filter(([k]) => k !== 'Proc-Type').sort(([a], [c]) => compareBytes(a, c));
    for (const [k, v] of [...procType, ...others]) out += `${k}: ${v}\n`;
    out += '\n';
  }
  const b64 = b.bytes.toString('base64');
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${b.type}-----\n`;
}

/** dependency.nextPem: the next "-----BEGIN … -----END …-----" span, wrapped in newlines. */
function nextPem(encoded: string): [string | null, string] {
  const start = encoded.indexOf('-----BEGIN');
  if (start < 0) return [null, ''];
  const e = encoded.slice(start);
  const endIdx = e.indexOf('-----END');
  if (endIdx < 0) return [null, ''];
  let end = endIdx + 8;
  const close = e.slice(end).indexOf('-----');
  if (close < 0) return [null, ''];
  end = end + close + 5;
  return ['\n' + e.slice(0, end) + '\n', e.slice(end)];
}

interface CertTimes { notBeforeMs: number; notAfterMs: number }

/** dependency.pemsCert: Key (… PRIVATE KEY), CA (a CA certificate), Cert (the last non-CA certificate). */
function pemsCert(encoded: string): { pems: PemEncoded; cert: CertTimes | null } {
  const pems = new PemEncoded();
  let cert: CertTimes | null = null;
  let rest = encoded;
  for (;;) {
    const [aPem, more] = nextPem(rest);
    rest = more;
    const block = aPem === null ? null : pemDecode(aPem);
    if (block === null) return { pems, cert };
    if (block.type.endsWith('PRIVATE KEY')) {
      pems.Key = pemEncode(block);
      continue;
    }
    let x: X509Certificate;
    try {
      x = new X509Certificate(block.bytes);
    } catch (e) {
      throw new VaultDependencyError(`x509: ${(e as Error).message}`);
    }
    if (x.ca) pems.CA = pemEncode(block);
    else {
      cert = { notBeforeMs: Date.parse(x.validFrom), notAfterMs: Date.parse(x.validTo) };
      pems.Cert = pemEncode(block);
    }
  }
}

/**
 * dependency.goodFor: a certificate is reused while 90% of its remaining time is more than 10% of
 * its lifetime; the answer is how long to wait before looking again (without consul-template's ±3%
 * jitter), or null when it needs renewing now.
 */
export function pkiGoodForMs(notBeforeMs: number, notAfterMs: number, nowMs: number): number | null {
  const start = Math.floor(notBeforeMs / 1000);
  const end = Math.floor(notAfterMs / 1000);
  const now = Math.floor(nowMs / 1000);
  if (end <= now) return null;
  const lifespan = end - start;
  const duration = end - now;
  const good = Math.trunc((duration * 9) / 10);
  const min = Math.trunc(lifespan / 10);
  if (good <= min) return null;
  return good * 1000;
}

async function fetchPems(ctx: RenderContext, pkiPath: string, data: Record<string, string>, name: string): Promise<string> {
  const answer = await ctx.vault.request('PUT', pkiPath, data);
  let s: ApiSecret | null;
  try {
    s = writeAnswer(pkiPath, answer);
  } catch (e) {
    throw new VaultDependencyError(`${name}: ${(e as Error).message}`, (e as VaultDependencyError).status);
  }
  if (s === null) throw new VaultDependencyError(`no secret exists at ${pkiPath}`, answer.status);
  let pems = '';
  if (isPlainObject(s.data)) for (const v of Object.values(s.data)) if (typeof v === 'string') pems += v + '\n';
  return pems;
}

async function pkiCert(ctx: RenderContext, args: string[], nowMs: number): Promise<PemEncoded | null> {
  if (args.length === 0) return null;
  const data = kvArgs(args.slice(1));
  const trimmed = cleanPath(args[0]!);
  if (trimmed === '') throw new GoFuncError(`vault.read: invalid format: ${goQuote(trimmed)}`);
  const { path: pkiPath } = splitQuery(trimmed);
  const dest = ctx.destination ?? '';
  const name = `vault.pki(${pkiPath}->${dest})`;
  const get = async (renew: boolean) => {
    let raw = '';
    let readOk = false;
    if (!renew && dest !== '') {
      try { raw = await ctx.readFile(dest); readOk = true; } catch { readOk = false; }
    }
    if (renew || !readOk || raw.length === 0) raw = await fetchPems(ctx, pkiPath, data, name);
    const { pems, cert } = pemsCert(raw);
    const good = cert === null ? null : pkiGoodForMs(cert.notBeforeMs, cert.notAfterMs, nowMs);
    return { pems, cert, good };
  };
  let r = await get(false);
  if (r.good === null) {
    r = await get(true);
    if (r.good === null) throw new VaultDependencyError('needs renewal');
  }
  const dep: TemplateDependency = { kind: 'pkiCert', path: pkiPath };
  if (r.cert) dep.expiresAtMs = r.cert.notAfterMs;
  ctx.used.push(dep);
  const out = r.pems;
  // PemEncoded's Data() method returns itself (`.Data.Cert` is the documented form): a name in
  // goMethodFields, which the engine calls rather than prints, and toJSON/toYAML leave out.
  Object.defineProperty(out, 'Data', { value: out, enumerable: true, writable: false, configurable: false });
  return out;
}

export function pkiFuncs(ctx: RenderContext, now: () => Date) {
  return {
    pkiCert: async (...args: unknown[]): Promise<PemEncoded | null> => pkiCert(ctx, argStrings(args), now().getTime()),
  };
}
