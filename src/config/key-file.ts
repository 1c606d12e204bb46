import { readFileSync } from 'node:fs';
import { fileError } from './methods/credential-file.js';

/**
 * The one loader of our AES-256 keys (`cache { persist … { key_file | key_env_var } }` and
 * `fleet { encryption_key_file | encryption_key_env_var }`): 32 random bytes in base64, as
 * `openssl rand -base64 32` writes them, from a file or an environment variable.
 *
 * A source may hold several keys, newest first (the fleet's rotation): one per line, or separated
 * by commas (base64 has none; handy in an environment variable); blank lines and lines starting
 * with `#` are skipped.
 * Every message names the source (the file, or the variable), never a key.
 */
export const KEY_BYTES = 32;

/** Exactly one of the two is set (the config readers refuse both, and neither). */
export interface KeySource {
  keyFile?: string;
  keyEnvVar?: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HOW = '`openssl rand -base64 32`';

/** The text of the source and how messages name it. Throws when it cannot be read or is unset. */
function readSource(src: KeySource, env: NodeJS.ProcessEnv): { text: string; source: string } {
  if (src.keyFile) {
    try {
      return { text: readFileSync(src.keyFile, 'utf8'), source: src.keyFile };
    } catch (err) {
      throw new Error(`cannot read the key file ${src.keyFile}: ${fileError(err)}`);
    }
  }
  if (src.keyEnvVar) {
    const source = `the environment variable ${src.keyEnvVar}`;
    const v = env[src.keyEnvVar];
    if (v === undefined || v === '') throw new Error(`${source} is not set`);
    return { text: v, source };
  }
  throw new Error('no key source');
}

/** The keys of a source's text, in the order written. */
function splitKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => line.split(',').map((k) => k.trim()).filter((k) => k !== ''));
}

/**
 * Every key of the source, newest (the first written) first. Throws a message naming the source
 * when it is unreadable or unset, holds no key, a key that is not base64 or not 32 bytes, or the
 * same key twice.
 */
export function loadKeys(src: KeySource, env: NodeJS.ProcessEnv = process.env): Buffer[] {
  const { text, source } = readSource(src, env);
  const written = splitKeys(text);
  if (written.length === 0) throw new Error(`${source} holds no key (write one with ${HOW})`);
  const one = written.length === 1;
  const which = (i: number): string => (one ? source : `${source}: key ${i + 1} (of ${written.length})`);
  const keys = written.map((t, i) => {
    if (!BASE64.test(t)) throw new Error(`${which(i)} does not hold base64 (write it with ${HOW})`);
    const key = Buffer.from(t, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`${which(i)} holds ${key.length} bytes; ${one ? 'the key' : 'each key'} must be ${KEY_BYTES} random bytes in base64 (${HOW})`);
    }
    return key;
  });
  keys.forEach((k, i) => {
    const first = keys.findIndex((other) => other.equals(k));
    if (first !== i) throw new Error(`${source}: key ${i + 1} repeats key ${first + 1}; a new key must be freshly made (${HOW})`);
  });
  return keys;
}

/** The source's single key (`persist`, which seals its store with one key and has no rotation). */
export function loadKey(src: KeySource, env: NodeJS.ProcessEnv = process.env, what = 'this store'): Buffer {
  const keys = loadKeys(src, env);
  if (keys.length > 1) {
    throw new Error(`${src.keyFile ?? `the environment variable ${src.keyEnvVar}`} holds ${keys.length} keys; ${what} takes exactly one`);
  }
  return keys[0]!;
}
