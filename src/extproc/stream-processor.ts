import { errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { vaultError } from './decisions.js';
import type { ProcessingRequest, ProcessingResponse } from './envoy-types.js';
import { continueReply, requestHeadersReply } from './messages.js';
import { RequestLog } from './request-log.js';
import { step } from './stream.js';
import { heldInflightKeys, initialState, type Step, type StreamContext, type StreamEffect, type StreamState } from './stream-types.js';
import type { ListenerConfig } from '../config/types.js';

/** How long a request waits for an identical one in flight; well inside Envoy's 1 s message_timeout. */
const COALESCE_WAIT_MS = 700;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface StreamHooks {
  context: StreamContext;
  onEffect(effect: StreamEffect): void;
  /** The stream's end: how it was answered and how long it lived. */
  onEnd?(state: StreamState, seconds: number): void;
  log: Logger;
}

/**
 * One ext_proc stream's story: its state, the loop that steps each message and writes exactly one
 * reply per message in the order the messages came, and its end. The gRPC call is behind `write`
 * and `close`, so the loop knows nothing of grpc-js.
 */
export class StreamProcessor {
  private state: StreamState;
  private closed = false;
  private readonly startedAt = process.hrtime.bigint();
  /** The message being worked on asynchronously; the next ones queue behind it. */
  private tail: Promise<void> | undefined;
  /** The per-request decision log, only when debug is on (README "Operations" > Logs). */
  private readonly requestLog: RequestLog | undefined;

  constructor(
    listener: ListenerConfig,
    private readonly hooks: StreamHooks,
    private readonly write: (reply: ProcessingResponse) => void,
    private readonly close: () => void,
  ) {
    this.state = initialState(listener);
    this.requestLog = hooks.log.isLevelEnabled('debug') ? new RequestLog() : undefined;
  }

  /** A message from Envoy. Most are answered at once, without a promise. */
  message(msg: ProcessingRequest): void {
    if (this.closed) return;
    this.enqueue(() => this.handle(msg));
  }

  /** Envoy half-closed: answer what is still being worked on, then close our side. */
  halfClosed(): void {
    this.enqueue(() => {
      this.finish();
      this.close();
      return undefined;
    });
  }

  /** The stream is gone (reset, cancelled, closed). Idempotent. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    // A request whose answer never came (client gone, Vault unreachable) must not hold waiters up.
    for (const key of heldInflightKeys(this.state)) this.hooks.onEffect({ type: 'inflight-end', key });
    const seconds = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    this.hooks.onEnd?.(this.state, seconds);
    if (this.requestLog) this.hooks.log.debug(this.requestLog.line(this.state, seconds), 'request');
  }

  /** Every reply goes out here (and past the request log when it is on). */
  private send(reply: ProcessingResponse): void {
    if (this.closed) return;
    this.requestLog?.reply(reply);
    this.write(reply);
  }

  private enqueue(work: () => Promise<void> | undefined): void {
    const p = this.tail ? this.tail.then(work) : work();
    if (!p) return;
    this.tail = p;
    void p.then(() => {
      if (this.tail === p) this.tail = undefined;
    });
  }

  private handle(msg: ProcessingRequest, waited = false): Promise<void> | undefined {
    let next: Step;
    this.requestLog?.message(msg);
    try {
      next = step(this.state, msg, this.hooks.context);
    } catch (err) {
      this.fail(msg, err);
      return undefined;
    }
    this.state = next.state;
    for (const effect of next.effects) {
      this.hooks.onEffect(effect);
      this.requestLog?.effect(effect);
    }
    switch (next.kind) {
      case 'reply':
        this.send(next.reply);
        return undefined;
      case 'none':
        return undefined;
      case 'later':
        return next.later.then((reply) => this.send(reply), (err: unknown) => this.fail(msg, err));
      case 'wait':
        // An identical request is on its way to Vault (or a token's first lookup): wait for it
        // (bounded), then step the same message again. A second wait would leave Envoy waiting.
        if (waited) {
          this.fail(msg, new Error('a message asked to wait twice'));
          return undefined;
        }
        this.requestLog?.waited();
        return Promise.race([next.wait, delay(COALESCE_WAIT_MS)])
          .then(() => (this.closed ? undefined : this.handle(msg, true)))
          .catch((err: unknown) => this.fail(msg, err));
      default: {
        const never: never = next;
        throw new Error(`unhandled step ${(never as Step).kind}`);
      }
    }
  }

  /** Never leave Envoy waiting: answer the phase, failing closed on the request path. */
  private fail(msg: ProcessingRequest, err: unknown): void {
    this.hooks.log.error({ phase: msg.request, err: errorMessage(err) }, 'processing a message failed');
    const reply = msg.request === 'request_headers'
      ? requestHeadersReply(vaultError(500, 'vault-extproc internal error', 'vault_extproc_internal_error'))
      : msg.request ? continueReply(msg.request) : undefined;
    if (reply) this.send(reply);
  }
}
