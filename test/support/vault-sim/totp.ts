// TOTP (RFC 6238 over RFC 4226 HOTP) with node:crypto, as pquerna/otp computes and validates it
// for Vault's login MFA: a base32 secret without padding, SHA1/SHA256/SHA512, 6 or 8 digits, and a
// skew of 0 or 1 period either side. Tests use `totpCode` to answer a real Vault's challenge too.
import { createHmac, randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** base32.StdEncoding without padding. */
export function base32Encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of clean) {
    const v = BASE32.indexOf(c);
    if (v < 0) throw new Error('invalid base32');
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpOptions {
  readonly period?: number;
  readonly digits?: number;
  readonly algorithm?: TotpAlgorithm;
}

/** The code for `secret` (base32) at `atMs`. */
export function totpCode(secret: string, atMs: number = Date.now(), opts: TotpOptions = {}): string {
  const period = opts.period ?? 30;
  const digits = opts.digits ?? 6;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / period)));
  const mac = createHmac((opts.algorithm ?? 'SHA1').toLowerCase(), base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, '0');
}

/** totp.ValidateCustom: the passcode matches the current period or one within `skew` of it. */
export function totpValid(passcode: string, secret: string, nowMs: number, opts: TotpOptions & { skew?: number }): boolean {
  if (passcode.length !== (opts.digits ?? 6)) return false;
  const period = (opts.period ?? 30) * 1000;
  const skew = opts.skew ?? 0;
  for (let i = -skew; i <= skew; i++) {
    if (totpCode(secret, nowMs + i * period, opts) === passcode) return true;
  }
  return false;
}

export function newTotpSecret(keySize: number): string {
  return base32Encode(randomBytes(keySize));
}
