import type { WorkerMessage } from '../protocol.js';

/** Confirmations go out in batches: at most this many hashes, or after this long. */
const CONFIRM_BATCH = 500;
const CONFIRM_DELAY_MS = 100;

/**
 * `tokens-confirmed` in batches (one message per 100 ms or per 500 tokens, never one per token),
 * each as of the earliest confirmation in it. Tokens that left before the batch goes out are left out.
 */
export class Confirmations {
  private batch: string[] = [];
  private atMs = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly send: (msg: WorkerMessage) => void,
    private readonly stillKnown: (hash: string) => boolean,
  ) {}

  add(hash: string, atMs: number): void {
    this.batch.push(hash);
    this.atMs = Math.min(this.atMs, atMs);
    if (this.batch.length >= CONFIRM_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), CONFIRM_DELAY_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const hashes = this.batch.filter(this.stillKnown);
    const atMs = this.atMs;
    this.batch = [];
    this.atMs = Infinity;
    if (hashes.length && !this.stopped) this.send({ type: 'tokens-confirmed', tokenHashes: hashes, atMs });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
