// The event bus (Vault 1.15 shape): KV handlers emit, subscribers get one CloudEvents JSON text
// frame per event they may see. Transport-free: events-ws.ts attaches WebSocket subscribers.
import { eventTypeGlobMatch } from './acl.js';
import { goJson } from './envelope.js';
import { newUuid } from './ids.js';
import type { MountEntry } from './mount-table.js';
import type { PolicyStore } from './policy.js';
import { localStampText } from './time.js';
import type { TokenStore } from './tokens.js';
import type { Call } from './types.js';

const REVALIDATION_MS = 5 * 60_000;

/** One open subscription (a WebSocket in practice). */
export interface Subscriber {
  readonly tokenId: string;
  /** The token had the root policy when it subscribed: it then receives every event, unchecked. */
  readonly isRoot: boolean;
  /** The `<eventType>` glob from the subscribe URL, e.g. `kv*`. */
  readonly eventTypePattern: string;
  send(frame: string | Buffer): void;
  /** Abrupt close: no close frame (the client sees 1006). */
  terminate(): void;
}

export interface EmittedEvent {
  readonly id: string;
  readonly eventType: string;
  /** `metadata.path`, mount-prefixed: `secret/data/app`. */
  readonly path: string;
  readonly dataPath: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  /** The JSON text frame as sent, newline included. */
  readonly frame: string;
}

export class EventBus {
  /** False: the subscribe endpoint behaves like Vault CE ≥ 1.16 (a plain sys path, so 404). */
  available = true;
  readonly emitted: EmittedEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** Per subscriber: `<data_path>!<event type>` → until when an allowed check stays cached (ms). */
  private readonly allowedUntil = new WeakMap<Subscriber, Map<string, number>>();

  constructor(
    private readonly now: () => number,
    private readonly tokens: TokenStore,
    private readonly policies: PolicyStore,
  ) {}

  /** Registers a subscriber; returns the function that removes it. */
  add(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  disconnectAll(): void {
    for (const subscriber of [...this.subscribers]) {
      this.subscribers.delete(subscriber);
      subscriber.terminate();
    }
  }

  sendRaw(frame: string | Buffer): void {
    for (const subscriber of this.subscribers) subscriber.send(frame);
  }

  /** Publishes a plugin event from `mount`; `metadata` paths are already mount-prefixed. */
  emit(eventType: string, mount: MountEntry, metadata: Record<string, string>): EmittedEvent {
    const id = newUuid();
    const sortedMetadata = Object.fromEntries(Object.keys(metadata).sort().map((k) => [k, metadata[k] as string]));
    const message = {
      id,
      source: 'https://vaultproject.io/',
      specversion: '1.0',
      type: '*',
      data: {
        event: { id, metadata: sortedMetadata },
        event_type: eventType,
        plugin_info: { mount_class: mount.table === 'auth' ? 'auth' : 'secret', mount_accessor: mount.accessor, mount_path: mount.path, plugin: mount.type },
      },
      datacontentype: 'application/cloudevents',
      time: localStampText(this.now()),
    };
    const event: EmittedEvent = {
      id,
      eventType,
      path: metadata['path'] ?? '',
      dataPath: metadata['data_path'],
      metadata: sortedMetadata,
      frame: `${goJson(message)}\n`,
    };
    this.emitted.push(event);
    for (const subscriber of this.subscribers) {
      if (this.mayReceive(subscriber, event)) subscriber.send(event.frame);
    }
    return event;
  }

  /**
   * The 1.15 per-event check (http/events.go allowMessageCached): a root subscriber gets everything;
   * an event without `data_path` goes to root subscribers only; otherwise the token, checked at
   * delivery time, needs `subscribe` on the `data_path` with the type in `subscribe_event_types`.
   * A check that passed is cached for 5 minutes per data path and event type (webSocketRevalidationTime),
   * so a revoked token or a narrowed policy still gets those for a while.
   */
  private mayReceive(subscriber: Subscriber, event: EmittedEvent): boolean {
    if (!eventTypeGlobMatch(subscriber.eventTypePattern, event.eventType)) return false;
    if (subscriber.isRoot) return true;
    if (event.dataPath === undefined || event.dataPath === '') return false;
    const key = `${event.dataPath}!${event.eventType}`;
    let cache = this.allowedUntil.get(subscriber);
    if (!cache) {
      cache = new Map();
      this.allowedUntil.set(subscriber, cache);
    }
    const nowMs = this.now();
    if ((cache.get(key) ?? 0) > nowMs) return true;
    const token = this.tokens.lookup(subscriber.tokenId);
    if (!token || !this.policies.acl(token.policies).allowsSubscribe(event.dataPath, event.eventType)) return false;
    cache.set(key, nowMs + REVALIDATION_MS);
    return true;
  }
}

/** Extra metadata of versioned kv-v2 events. */
export function versionsMetadata(currentVersion: number, oldestVersion: number): Record<string, string> {
  return { current_version: String(currentVersion), oldest_version: String(oldestVersion) };
}

/**
 * kvEvent in the kv plugin (v0.16.1) plus the bus's mount prefixing: `relPath` and `dataRelPath`
 * are relative to the mount (`data/app`); `null` means the event has no `data_path`.
 */
export function kvEvent(
  call: Call,
  operation: string,
  relPath: string,
  dataRelPath: string | null,
  extra: Record<string, string> = {},
): void {
  const version = call.mount.options?.['version'] === '2' ? 'kv-v2' : 'kv-v1';
  const prefix = call.mount.routePrefix;
  const metadata: Record<string, string> = { ...extra, modified: 'true', operation, path: `${prefix}${relPath}` };
  if (dataRelPath !== null) metadata['data_path'] = `${prefix}${dataRelPath}`;
  call.state.events.emit(`${version}/${operation}`, call.mount, metadata);
}
