import { parseDurationSeconds } from './duration.js';
import { isLabelWrapper, positionOf, type Position } from './hcl-parse.js';
import type { Problems } from './problems.js';

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * HCL v1 (and its JSON form) decode every block and object value as a list of objects.
 * Returns the list of bodies found under a value.
 */
function bodiesOf(value: unknown): Raw[] {
  if (Array.isArray(value)) return value.flatMap(bodiesOf);
  return isObject(value) ? [value] : [];
}

function joinLocation(parent: string, segment: string): string {
  return parent ? `${parent} > ${segment}` : segment;
}

/**
 * Reads one block of a decoded config, recording every problem with its location. Keys
 * that are read are marked; `finish()` reports the rest as unknown, as Vault does.
 */
export class BlockReader {
  private readonly used = new Set<string>();

  constructor(
    readonly raw: Raw,
    readonly location: string,
    private readonly problems: Problems,
    /** The block's label (`listener "tcp"` → `tcp`), if it had one. */
    readonly label?: string,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  at(key: string): string {
    return joinLocation(this.location, key);
  }

  /** Where `key` (or, without one, this block) was written; undefined for the JSON form. */
  position(key?: string): Position | undefined {
    const own = key ? positionOf(this.raw, key) : undefined;
    // The file as a whole (the root block) has no line worth naming.
    return own ?? (this.location === '' ? undefined : positionOf(this.raw));
  }

  private fault(key: string, message: string): void {
    this.problems.error(key ? this.at(key) : this.location, message, this.position(key));
  }

  /** Marks a key as understood without reading it. */
  accept(key: string): void {
    this.used.add(key);
  }

  private take(key: string): unknown {
    this.used.add(key);
    const v = this.raw[key];
    // An attribute repeated in HCL v1 decodes as a list; Vault keeps the last one.
    return Array.isArray(v) && v.length > 0 && !v.every(isObject) ? v[v.length - 1] : v;
  }

  string(key: string): string | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.fault(key, `must be a string, got ${describe(v)}`);
    return undefined;
  }

  /** Booleans as Vault reads them: true/false, or the strings "true"/"false"/"1"/"0". */
  bool(key: string): boolean | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    const parsed = parseBool(v);
    if (parsed === undefined) this.fault(key, `must be true or false, got ${describe(v)}`);
    return parsed;
  }

  int(key: string): number | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && /^[-+]?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n)) return n;
    this.fault(key, `must be a whole number, got ${describe(v)}`);
    return undefined;
  }

  /** A duration as Vault writes it (`"5m"`, `"1h30m"`, bare seconds); returns seconds. */
  duration(key: string): number | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    try {
      const s = parseDurationSeconds(v);
      if (s < 0) this.fault(key, `must not be negative, got ${describe(v)}`);
      return s;
    } catch {
      this.fault(key, `must be a duration such as "30s", "5m" or "1h30m", got ${describe(v)}`);
      return undefined;
    }
  }

  /** An object-valued attribute such as `config = { ... }`. */
  map(key: string): BlockReader | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    const bodies = bodiesOf(v);
    if (bodies.length === 0) {
      this.fault(key, `must be an object, got ${describe(v)}`);
      return undefined;
    }
    return new BlockReader(bodies.length === 1 ? bodies[0]! : Object.assign({}, ...bodies) as Raw, this.at(key), this.problems);
  }

  /**
   * Blocks named `key`, labelled (`listener "tcp" {}`) or not (`listener { type = "tcp" }`).
   * A body whose only key is not one of `bodyKeys` and holds objects is read as a labelled block.
   */
  blocks(key: string, bodyKeys: readonly string[] = [], labelled = true): BlockReader[] {
    const v = this.take(key);
    if (v === undefined) return [];
    const bodies = bodiesOf(v);
    if (bodies.length === 0) {
      this.fault(key, `must be a block, got ${describe(v)}`);
      return [];
    }
    const found: Array<{ body: Raw; label?: string }> = [];
    for (const body of bodies) {
      const keys = Object.keys(body);
      const only = keys.length === 1 ? keys[0]! : undefined;
      // Our HCL parser marks a label's wrapper; the JSON form has no labels to mark, so it is guessed.
      const wrapper = positionOf(body) !== undefined
        ? isLabelWrapper(body)
        : only !== undefined && !bodyKeys.includes(only) && bodiesOf(body[only!]).length > 0;
      if (labelled && wrapper && only !== undefined) {
        for (const inner of bodiesOf(body[only])) found.push({ body: inner, label: only });
      } else {
        found.push({ body });
      }
    }
    return found.map(({ body, label }, i) => {
      const name = label !== undefined ? `${key} "${label}"` : key;
      const segment = found.length > 1 ? `${name} #${i + 1}` : name;
      return new BlockReader(body, joinLocation(this.location, segment), this.problems, label);
    });
  }

  /** At most one unlabelled block named `key`. */
  block(key: string): BlockReader | undefined {
    const all = this.blocks(key, [], false);
    if (all.length > 1) this.fault(key, `only one ${key} block is allowed, found ${all.length}`);
    return all[0];
  }

  /** A stanza or key that Vault knows and we do not implement yet: reported, never silently ignored. */
  unimplemented(key: string, what?: string): void {
    if (!this.has(key)) return;
    this.used.add(key);
    this.problems.warn(this.at(key), `${what ?? key} is not implemented by vault-extproc yet; it is ignored`, this.position(key));
  }

  error(key: string, message: string): void {
    this.fault(key, message);
  }

  warn(key: string, message: string): void {
    this.problems.warn(key ? this.at(key) : this.location, message, this.position(key));
  }

  /** Valid for `check`, refused by `serve`. */
  blockServe(key: string, message: string): void {
    this.problems.blockServe(key ? this.at(key) : this.location, message, this.position(key));
  }

  /** Reports keys nobody read. Vault warns about unknown keys and goes on; so do we. */
  finish(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.used.has(key)) this.problems.warn(this.at(key), 'unknown key; it is ignored', this.position(key));
    }
  }
}

export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', 't', '1'].includes(s)) return true;
    if (['false', 'f', '0'].includes(s)) return false;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'a block';
  return JSON.stringify(v);
}
