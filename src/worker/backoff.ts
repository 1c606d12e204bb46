/**
 * Jittered exponential backoff: min, 2·min, 4·min … capped at max, each delay drawn from
 * 75–100 % of its step so that a fleet does not retry in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry; each call doubles the step until the cap. */
  next(): number {
    const step = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 62);
    return Math.round(step * (0.75 + 0.25 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
