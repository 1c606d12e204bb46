// One entry of the fleet's invalidation stream (`<prefix>events`), as it lies in Redis:
//
//   o  the origin replica's id (plain: a replica id names no token, path or secret)
//   n  the origin's sequence number, `<incarnation>-<counter>`: 16 hex digits drawn at random when
//      the publisher starts, then 1, 2, 3 … in the order it appends
//   s  the InvalidationEvent (src/fleet/schema.ts), sealed (src/crypto/sealer.ts)
//
// The seal's additional data is `<stream key> \0 <o> \0 <n>` (inside the Sealer's own
// `vault-extproc/1 \0 … \0 binding`), so an entry opens only in the stream it was appended to,
// under the origin and sequence number it shows: an entry copied from another stream (another
// fleet's prefix, a test stream) or given another origin or number does not open (`refused`).
// The same entry appended twice does open; the follower catches that by the sequence numbers
// (`replayed`, src/fleet/invalidation-stream.ts). Record names in L2 are `kind` + base64url and
// never hold a NUL, so no L2 value opens as an entry nor an entry as an L2 value.
//
// Reading never guesses: an entry that does not open, does not decode, names another origin
// inside than outside, or carries a kind this release does not know is a refusal with a reason.
import { randomBytes } from 'node:crypto';
import { SealError, type Sealer } from '../crypto/sealer.js';
import { decodeEvent, encodeEvent, SchemaError, type FleetEvent } from './schema.js';

export const FIELD_ORIGIN = 'o';
export const FIELD_SEQ = 'n';
export const FIELD_SEALED = 's';

const SEQ = /^([0-9a-f]{16})-([1-9][0-9]{0,15})$/;

/** Why an entry is not applied. */
export type EntryRefusal =
  /** Does not authenticate under any key of the ring (changed, moved from another stream, relabelled), or a key we lack. */
  | 'refused'
  /** Missing or misshapen fields, not a sealed record, or sealed bytes that are not an InvalidationEvent. */
  | 'malformed'
  /** Opens and decodes, but its kind (or cache-clear type) is one this release does not know. */
  | 'unknown';

export class EntryError extends Error {
  constructor(readonly reason: EntryRefusal, message: string) {
    super(message);
    this.name = 'EntryError';
  }
}

export interface SeqNo {
  incarnation: string;
  counter: number;
}

/** A publisher's numbering: a fresh incarnation per process, then a counter. */
export class SeqCounter {
  readonly incarnation = randomBytes(8).toString('hex');
  private counter = 0;

  next(): string {
    this.counter += 1;
    return `${this.incarnation}-${this.counter}`;
  }
}

export function parseSeq(n: string): SeqNo | undefined {
  const m = SEQ.exec(n);
  return m ? { incarnation: m[1]!, counter: Number(m[2]) } : undefined;
}

/** The name the seal binds an entry to (see the header). */
export function entryBinding(streamKey: string, origin: string, seq: string): string {
  return `${streamKey}\u0000${origin}\u0000${seq}`;
}

/** XADD's field/value arguments for `event` (whose origin names the publisher). */
export function sealEntry(sealer: Sealer, streamKey: string, seq: string, event: FleetEvent): Array<string | Buffer> {
  const sealed = sealer.seal(entryBinding(streamKey, event.origin, seq), encodeEvent(event));
  return [FIELD_ORIGIN, event.origin, FIELD_SEQ, seq, FIELD_SEALED, sealed];
}

export interface OpenedEntry {
  origin: string;
  seq: SeqNo;
  event: FleetEvent;
}

/**
 * The event of one stream entry (`fields`: XREAD's flat field/value list, as Buffers), or an
 * EntryError. Fields this release does not know are ignored (a newer release may add some).
 */
export function openEntry(sealer: Sealer, streamKey: string, fields: readonly Buffer[]): OpenedEntry {
  const byName = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set(fields[i]!.toString('latin1'), fields[i + 1]!);
  const o = byName.get(FIELD_ORIGIN);
  const n = byName.get(FIELD_SEQ);
  const s = byName.get(FIELD_SEALED);
  if (!o || !n || !s) throw new EntryError('malformed', `an entry without its ${[!o && FIELD_ORIGIN, !n && FIELD_SEQ, !s && FIELD_SEALED].filter(Boolean).join(', ')} field`);
  const origin = o.toString('utf8');
  const seqText = n.toString('latin1');
  const seq = parseSeq(seqText);
  if (!seq) throw new EntryError('malformed', 'an entry whose sequence number is not <incarnation>-<counter>');
  let plain: Buffer;
  try {
    plain = sealer.open(entryBinding(streamKey, origin, seqText), s);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    throw new EntryError(err.reason === 'malformed' ? 'malformed' : 'refused', `the entry does not open (${err.reason})`);
  }
  let event: FleetEvent;
  try {
    event = decodeEvent(plain);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    throw new EntryError('malformed', `the entry opens but is not an event (${err.reason})`);
  }
  // Sealed by a key holder, so a mismatch is a bug rather than an attack; still never applied.
  if (event.origin !== origin) throw new EntryError('malformed', 'the entry names another origin inside than outside');
  if (event.change.type === 'unknown') throw new EntryError('unknown', 'an event of a kind this release does not know');
  return { origin, seq, event };
}
