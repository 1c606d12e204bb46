// GET /v1/sys/events/subscribe/<eventType>?json=true (http/events.go, Vault 1.15): the checks
// before the WebSocket handshake, and the `ws` server that turns accepted requests into
// event-bus subscribers.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { AclOperation } from './acl.js';
import { BASE_HEADERS, canonicalHeader, errorReply, type Reply } from './envelope.js';
import type { EventBus } from './events.js';
import type { HttpInput } from './pipeline.js';
import type { SimState } from './state.js';
import type { TokenEntry } from './tokens.js';

export const SUBSCRIBE_PREFIX = '/v1/sys/events/subscribe/';
const PING_INTERVAL_MS = 30_000;
const TRUE_VALUES = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_VALUES = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

const OPERATION_FOR_METHOD: Record<string, AclOperation> = {
  GET: 'read', HEAD: 'header', LIST: 'list', DELETE: 'delete', POST: 'update', PUT: 'update', PATCH: 'patch',
};

export interface AcceptedSubscription {
  readonly token: TokenEntry;
  readonly eventTypePattern: string;
}

export type SubscribeCheck = { readonly reply: Reply } | { readonly ok: AcceptedSubscription };

/**
 * True when the server has an event stream (profile.ts `eventStream`), the bus is on and the
 * (decoded) `path` is a subscribe URL; otherwise it is an ordinary sys path.
 */
export function isSubscribeRequest(state: SimState, path: string): boolean {
  return state.profile.eventStream && state.events.available && path.startsWith(SUBSCRIBE_PREFIX);
}

/**
 * nhooyr.io/websocket Accept failing: it writes its own plain-text error, then Vault's
 * respondError appends `could not accept as websocket` to the same body.
 */
function handshakeFailure(status: number, message: string, extraHeaders: Record<string, string> = {}): Reply {
  return {
    status,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
      ...extraHeaders,
    },
    body: `${message}\n${JSON.stringify({ errors: ['could not accept as websocket'] })}\n`,
  };
}

function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? '').split(',').some((part) => part.trim().toLowerCase() === token);
}

/** The handshake checks of nhooyr's verifyClientRequest, in its order. */
function handshakeProblem(input: HttpInput): Reply | undefined {
  const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket' };
  const connection = input.headers['connection'] ?? '';
  if (!hasToken(connection, 'upgrade')) {
    return handshakeFailure(426, `WebSocket protocol violation: Connection header ${JSON.stringify(connection)} does not contain Upgrade`, upgradeHeaders);
  }
  const upgrade = input.headers['upgrade'] ?? '';
  if (!hasToken(upgrade, 'websocket')) {
    return handshakeFailure(426, `WebSocket protocol violation: Upgrade header ${JSON.stringify(upgrade)} does not contain websocket`, upgradeHeaders);
  }
  if (input.method !== 'GET') {
    return handshakeFailure(405, `WebSocket protocol violation: handshake request method is not GET but ${JSON.stringify(input.method)}`);
  }
  const version = input.headers['sec-websocket-version'] ?? '';
  if (version !== '13') {
    return handshakeFailure(400, `unsupported WebSocket protocol version (only 13 is supported): ${JSON.stringify(version)}`,
      { 'sec-websocket-version': '13' });
  }
  if (!input.headers['sec-websocket-key']) return handshakeFailure(400, 'WebSocket protocol violation: missing Sec-WebSocket-Key');
  return undefined;
}

/** handleEventsSubscribe up to websocket.Accept: token and ACL, event type, `json`, handshake. */
export function checkSubscribe(state: SimState, input: HttpInput): SubscribeCheck {
  let pattern = input.path.slice(SUBSCRIBE_PREFIX.length);
  // core.CheckToken on the request as built: `read` on sys/events/subscribe/<type> for a GET.
  const token = state.tokens.lookup(input.token);
  const operation = OPERATION_FOR_METHOD[input.method] ?? 'read';
  const logicalPath = `sys/events/subscribe/${pattern}`;
  if (!token || !state.policies.acl(token.policies).allows(logicalPath, operation)) {
    return { reply: errorReply(403, 'permission denied') };
  }
  if (state.tokens.use(token)) state.tokens.revokeTree(token.id);
  pattern = pattern.trim();
  if (pattern === '') return { reply: errorReply(400, 'did not specify eventType to subscribe to') };
  const json = input.query['json'] ?? '';
  if (json !== '' && !TRUE_VALUES.includes(json) && !FALSE_VALUES.includes(json)) {
    return { reply: errorReply(400, `invalid parameter for JSON: ${json}`) };
  }
  if (!TRUE_VALUES.includes(json)) {
    // Vault would stream binary protobuf (logical.EventReceived); the simulator only speaks JSON.
    return { reply: errorReply(400, 'vault-sim: only json=true subscriptions are simulated') };
  }
  // `namespaces` and `filter` are accepted and ignored: everything lives in the root namespace.
  const problem = handshakeProblem(input);
  if (problem) return { reply: problem };
  return { ok: { token, eventTypePattern: pattern } };
}

/** Completes WebSocket handshakes and wires each socket to the event bus. */
export class EventSockets {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(private readonly bus: EventBus) {
    // Vault's 101 carries its usual headers too.
    this.wss.on('headers', (headers: string[]) => {
      for (const [name, value] of Object.entries(BASE_HEADERS)) headers.push(`${canonicalHeader(name)}: ${value}`);
    });
  }

  accept(req: http.IncomingMessage, socket: Duplex, head: Buffer, subscription: AcceptedSubscription): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const ping = setInterval(() => ws.ping(), PING_INTERVAL_MS);
      ping.unref();
      const remove = this.bus.add({
        tokenId: subscription.token.id,
        isRoot: subscription.token.policies.includes('root'),
        eventTypePattern: subscription.eventTypePattern,
        send: (frame) => ws.send(frame),
        terminate: () => ws.terminate(),
      });
      ws.on('close', () => {
        clearInterval(ping);
        remove();
      });
      ws.on('error', () => ws.terminate());
      // Vault never reads what the client sends.
    });
  }
}
