import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { errorMessage } from '../../errors.js';
import { goJson } from './wrap.js';

/** Vault Agent's DH-encrypted sink settings (dh_type = "curve25519"). */
export interface DhSettings {
  path: string;
  aad: string;
  deriveKey: boolean;
}

/**
 * Encrypts what a sink writes in Vault's dhutil envelope: an X25519 agreement between this
 * sink's key pair (made once, kept for the life of the process, as Agent's sink does) and the
 * consumer's public key from dh_path (read at the first write and kept); the shared secret is the
 * AES-256-GCM key, or with derive_key HKDF-SHA256(secret, salt = the smaller public key, info =
 * the larger); a random 12-byte nonce; aad as additional data. Written as Go's encoder writes
 * dhutil.Envelope: `{"curve25519_public_key","nonce","encrypted_payload"}` in base64, newline.
 */
export class DhEncrypter {
  private theirPublic: Buffer | undefined;
  private own: { publicRaw: Buffer; privateKey: KeyObject } | undefined;

  constructor(private readonly settings: DhSettings) {}

  async encrypt(plaintext: string): Promise<string> {
    if (plaintext === '') throw new Error('nothing to encrypt');
    const theirs = this.theirPublic ?? (this.theirPublic = await readPublicKey(this.settings.path));
    const own = this.own ?? (this.own = generateOwnKeyPair());
    const secret = diffieHellman({ privateKey: own.privateKey, publicKey: x25519PublicKey(theirs) });
    const key = this.settings.deriveKey ? deriveSharedKey(secret, own.publicRaw, theirs) : secret;
    if (key.length !== 32) throw new Error(`the shared key has ${key.length} bytes, not 32`);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(this.settings.aad, 'utf8'));
    const payload = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `{${[
      ['curve25519_public_key', own.publicRaw],
      ['nonce', nonce],
      ['encrypted_payload', payload],
    ].map(([k, v]) => `${goJson(k as string)}:"${(v as Buffer).toString('base64')}"`).join(',')}}\n`;
  }
}

/** HKDF-SHA256 over the shared secret, the two public keys in byte order as salt and info (Vault's dhutil.DeriveSharedKey). */
export function deriveSharedKey(secret: Buffer, ourPublic: Buffer, theirPublic: Buffer): Buffer {
  const order = Buffer.compare(ourPublic, theirPublic);
  if (order === 0) throw new Error('the same public key for both sides');
  const [salt, info] = order < 0 ? [ourPublic, theirPublic] : [theirPublic, ourPublic];
  return Buffer.from(hkdfSync('sha256', secret, salt, info, 32));
}

/** The consumer's public key file: JSON `{"curve25519_public_key": "<base64 of 32 bytes>"}`. */
export async function readPublicKey(path: string): Promise<Buffer> {
  let text: string;
  try {
    await lstat(path);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no dh parameters file at ${path} yet`);
    throw new Error(`cannot read the dh parameters file ${path}: ${errorMessage(err)}`);
  }
  return parsePublicKeyJson(text, path);
}

export function parsePublicKeyJson(text: string, path: string): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the dh parameters file ${path} is not JSON`);
  }
  const b64 = (parsed as { curve25519_public_key?: unknown } | null)?.curve25519_public_key;
  const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (key.length === 0) throw new Error(`the dh parameters file ${path} holds no curve25519_public_key`);
  if (key.length !== 32) throw new Error(`the curve25519_public_key in ${path} has ${key.length} bytes, not 32`);
  return key;
}

function generateOwnKeyPair(): { publicRaw: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicRaw: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'), privateKey };
}

export function x25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}
