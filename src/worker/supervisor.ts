import type { ExtprocMessage, RoutedWorkerMessage, WorkerMessage } from './protocol.js';

/**
 * How a worker thread that ends unasked is brought back. The numbers are the documented ones
 * (README "When things fail"): the first restart 1 s after the crash, doubling to at most 30 s; a
 * worker that ran 60 s without crashing starts over at 1 s; the 5th crash within 5 minutes ends
 * the process (exit code WORKER_CRASH_EXIT_CODE) instead of restarting. A worker that answers no
 * heartbeat (a ping every 5 s) for 30 s is hung: it is terminated, and that counts as a crash.
 */
export interface RestartPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A worker that ran this long before crashing restarts after initialBackoffMs again. */
  resetAfterMs: number;
  /** This many crashes within crashWindowMs: give up. */
  maxCrashes: number;
  crashWindowMs: number;
  /** A ping this often (0: no heartbeat). */
  heartbeatMs: number;
  /** No pong for this long: the thread is hung, terminated and restarted. */
  hangTimeoutMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  resetAfterMs: 60_000,
  maxCrashes: 5,
  crashWindowMs: 5 * 60_000,
  heartbeatMs: 5_000,
  hangTimeoutMs: 30_000,
};

/** The process's exit code when the worker keeps crashing (EXIT.internal: a bug, not a config problem). */
export const WORKER_CRASH_EXIT_CODE = 70;

/** What a thread tells its supervisor. */
export interface ThreadEvents {
  message(msg: WorkerMessage): void;
  /** The thread runs (its code is loaded). */
  online(): void;
  /** An uncaught error in the thread (its exit follows). */
  error(err: Error): void;
  exit(exitCode: number): void;
}

/** One worker thread, as the supervisor drives it. */
export interface WorkerThread {
  send(msg: ExtprocMessage): void;
  /** Asks it to stop (a stop message, then terminate after a grace); its exit is expected. */
  stop(): Promise<void>;
  /** Test hook: makes the thread fail the way a bug would (an uncaught throw inside it). */
  crash(): void;
  /** Test hook: makes the thread's event loop spin forever (it answers nothing). */
  hang(): void;
  /** Ends the thread at once (a hung one). */
  terminate(): void;
}

/** Starts thread number `generation` (1 for the first). */
export type ThreadFactory = (events: ThreadEvents, generation: number) => WorkerThread;

export interface CrashInfo {
  exitCode: number;
  /** Crashes within the policy's window, this one included. */
  crashesInWindow: number;
  /** The uncaught error's class and where it was thrown (never its message: it may hold a secret). */
  error?: { name: string; at?: string };
  /** It answered no heartbeat for hangTimeoutMs and was terminated. */
  hung?: boolean;
  /** Undefined when the supervisor gives up. */
  restartInMs?: number;
}

export interface SupervisorHooks {
  /** Every message of the running thread but the heartbeat's `pong` (consumed here). */
  message(msg: RoutedWorkerMessage): void;
  /** A thread ended unasked. Messages sent from here until the restart are queued for the new thread. */
  crashed(info: CrashInfo): void;
  /** A new thread started (after a crash); the queued messages have been handed to it. */
  restarted(generation: number): void;
  /** A restarted thread runs its code. */
  online(generation: number): void;
  /** Too many crashes: no restart. */
  gaveUp(info: CrashInfo): void;
}

export interface SupervisorClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: SupervisorClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * Keeps one worker thread running: a thread that ends without being asked is restarted with
 * backoff (RestartPolicy), and the caller is told (crashed, restarted, online, gaveUp) so it can
 * report not-ready, count, and hand the new thread what the old one knew. Messages sent while
 * no thread runs wait in order for the next one.
 */
export class WorkerSupervisor {
  private thread: WorkerThread | undefined;
  private generationNow = 0;
  private startedAtMs = 0;
  private backoffMs: number;
  private crashTimes: number[] = [];
  private readonly queue: ExtprocMessage[] = [];
  private cancelRestart: (() => void) | undefined;
  private cancelHeartbeat: (() => void) | undefined;
  private stopping = false;
  private gaveUp = false;
  private readonly policy: RestartPolicy;
  private readonly clock: SupervisorClock;

  constructor(
    private readonly factory: ThreadFactory,
    private readonly hooks: SupervisorHooks,
    opts: { policy?: Partial<RestartPolicy>; clock?: SupervisorClock } = {},
  ) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...opts.policy };
    this.clock = opts.clock ?? realClock;
    this.backoffMs = this.policy.initialBackoffMs;
    this.launch();
  }

  /** The generation of the running thread (1 for the first); undefined between a crash and its restart. */
  get generation(): number | undefined {
    return this.thread ? this.generationNow : undefined;
  }

  /** Messages waiting for a thread. */
  get queued(): number {
    return this.queue.length;
  }

  send(msg: ExtprocMessage): void {
    if (this.stopping || this.gaveUp) return;
    if (this.thread) this.thread.send(msg);
    else this.queue.push(msg);
  }

  /** Test hook: crash the running thread. False when none runs. */
  crash(): boolean {
    if (!this.thread) return false;
    this.thread.crash();
    return true;
  }

  /** Test hook: hang the running thread. False when none runs. */
  hang(): boolean {
    if (!this.thread) return false;
    this.thread.hang();
    return true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelRestart?.();
    this.cancelHeartbeat?.();
    this.queue.length = 0;
    const t = this.thread;
    this.thread = undefined;
    await t?.stop();
  }

  private launch(): void {
    const generation = ++this.generationNow;
    let ended = false;
    let lastError: CrashInfo['error'];
    let hung = false;
    let lastPongMs = this.clock.now();
    const current = (): boolean => !ended && this.generationNow === generation;
    const events: ThreadEvents = {
      message: (msg) => {
        if (!current()) return;
        if (msg.type === 'pong') lastPongMs = this.clock.now();
        else this.hooks.message(msg);
      },
      online: () => { if (current() && generation > 1) this.hooks.online(generation); },
      error: (err) => { if (current()) lastError = describeError(err); },
      exit: (exitCode) => {
        if (!current()) return;
        ended = true;
        this.cancelHeartbeat?.();
        if (this.stopping) return;
        this.onCrash(exitCode, lastError, hung);
      },
    };
    this.startedAtMs = this.clock.now();
    const thread = this.factory(events, generation);
    if (ended) return; // it died while starting; onCrash has run
    this.thread = thread;
    for (const msg of this.queue.splice(0)) thread.send(msg);
    if (generation > 1) this.hooks.restarted(generation);
    if (this.policy.heartbeatMs > 0) {
      let seq = 0;
      const beat = (): void => {
        if (!current() || this.stopping) return;
        if (this.clock.now() - lastPongMs >= this.policy.hangTimeoutMs) {
          hung = true;
          thread.terminate(); // its exit follows: a crash
          return;
        }
        thread.send({ type: 'ping', seq: ++seq });
        this.cancelHeartbeat = this.clock.after(this.policy.heartbeatMs, beat);
      };
      this.cancelHeartbeat = this.clock.after(this.policy.heartbeatMs, beat);
    }
  }

  private onCrash(exitCode: number, error: CrashInfo['error'], hung: boolean): void {
    this.thread = undefined;
    const now = this.clock.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < this.policy.crashWindowMs), now];
    const info: CrashInfo = { exitCode, crashesInWindow: this.crashTimes.length, ...(error ? { error } : {}), ...(hung ? { hung } : {}) };
    if (this.crashTimes.length >= this.policy.maxCrashes) {
      this.gaveUp = true;
      this.queue.length = 0;
      this.hooks.gaveUp(info);
      return;
    }
    if (now - this.startedAtMs >= this.policy.resetAfterMs) this.backoffMs = this.policy.initialBackoffMs;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.policy.maxBackoffMs);
    this.hooks.crashed({ ...info, restartInMs: delayMs });
    this.cancelRestart = this.clock.after(delayMs, () => {
      this.cancelRestart = undefined;
      if (!this.stopping) this.launch();
    });
  }
}

/** An error's class and the first frame of its stack: enough to find the bug, nothing of its message. */
function describeError(err: Error): { name: string; at?: string } {
  const frame = (err.stack ?? '').split('\n').map((l) => l.trim()).find((l) => l.startsWith('at '));
  return { name: err.name || 'Error', ...(frame ? { at: frame.slice(3) } : {}) };
}
