// sys/capabilities-self and the KV event stream (sys/events/subscribe, Vault 1.15 shape): the
// same tests against the simulator and a real Vault.
import { expect } from 'chai';
import WebSocket from 'ws';
import { forEachBackend, simOnly, startBackend, type Backend } from '../../support/backend.js';
import { SimClient } from '../../support/vault-sim/client.js';
import { HSTS, RFC3339, UUID, sleep } from './support.js';

interface Frame {
  readonly data: Buffer;
  readonly text: string;
  readonly binary: boolean;
}

/** A subscriber socket that queues what it receives. */
class Subscription {
  readonly frames: Frame[] = [];
  upgradeHeaders: Record<string, string | string[] | undefined> = {};
  private waiter: (() => void) | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.frames.push({ data, text: data.toString('utf8'), binary });
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code: number) => resolve(code)));
  }

  /** Waits until `count` frames have arrived in all. */
  async waitFor(count: number, timeoutMs = 2000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} frames, got ${this.frames.length}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.frames.slice(0, count);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events(): any[] {
    return this.frames.map((f) => JSON.parse(f.text));
  }

  eventTypes(): string[] {
    return this.events().map((e) => e.data.event_type as string);
  }

  close(): void {
    this.ws.close();
  }
}

function subscribeUrl(url: string, glob: string, query: string): string {
  return `${url.replace(/^http/, 'ws')}/v1/sys/events/subscribe/${glob}${query === '' ? '' : `?${query}`}`;
}

/** `url`: the backend's own URL, or its serviceUrl for tests that cut connections or stop it. */
async function subscribe(url: string, token: string, glob = 'kv*', query = 'json=true&namespaces=*'): Promise<Subscription> {
  const ws = new WebSocket(subscribeUrl(url, glob, query), { headers: { 'x-vault-token': token } });
  const sub = new Subscription(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('upgrade', (res) => { sub.upgradeHeaders = res.headers; });
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`subscribe answered ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return sub;
}

/** A subscribe attempt that must fail before the upgrade: its status and body. */
async function refused(url: string, token: string | null, glob = 'kv*', query = 'json=true'): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = token === null ? {} : { 'x-vault-token': token };
  const ws = new WebSocket(subscribeUrl(url, glob, query), { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('subscription was accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

forEachBackend('Vault API: capabilities and events', (kind) => {
  let backend: Backend;
  let vault: SimClient;
  let url: string;
  let root: string;

  before(async function () {
    backend = await startBackend(kind);
    vault = new SimClient(backend);
    url = backend.url;
    root = backend.rootToken;
  });

  after(async function () {
    await backend?.close();
  });

  describe('sys/capabilities-self', function () {
    let token: string;

    before(async function () {
      await vault.writePolicy('caps', `
        path "secret/data/app/*" { capabilities = ["update", "read"] }
        path "secret/metadata/*" { capabilities = ["list"] }
        path "secret/data/app/locked" { capabilities = ["deny"] }
        path "secret/data/feed/*" {
          capabilities = ["read", "subscribe"]
          subscribe_event_types = ["kv*"]
        }
      `);
      token = await vault.tokenWith(['caps']);
    });

    it('answers per path, sorted, in data and at the top level', async function () {
      const paths = ['secret/data/app/db', 'secret/metadata/app/db', 'secret/data/other', 'secret/data/feed/x'];
      const res = await vault.call('POST', 'sys/capabilities-self', { token, body: { paths } });
      expect(res.status).to.equal(200);
      const expected = {
        'secret/data/app/db': ['read', 'update'],
        'secret/metadata/app/db': ['list'],
        'secret/data/other': ['deny'],
        'secret/data/feed/x': ['read', 'subscribe'],
      };
      expect(res.json.data).to.deep.equal(expected);
      expect(res.json).to.deep.include(expected);
      expect(res.json).to.not.have.property('capabilities');
      expect(res.json).to.include({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null });
      expect(res.json.request_id).to.match(UUID);
    });

    it('adds `capabilities` for a single path, and takes the deprecated `path` and comma strings', async function () {
      const single = await vault.call('PUT', 'sys/capabilities-self', { token, body: { path: 'secret/data/app/db' } });
      expect(single.status).to.equal(200);
      expect(single.json.data).to.deep.equal({ 'secret/data/app/db': ['read', 'update'], capabilities: ['read', 'update'] });
      expect(single.json.capabilities).to.deep.equal(['read', 'update']);
      const comma = await vault.call('POST', 'sys/capabilities-self', { token, body: { paths: 'secret/data/app/a, secret/data/x' } });
      expect(comma.json.data).to.deep.equal({ 'secret/data/app/a': ['read', 'update'], 'secret/data/x': ['deny'] });
    });

    it('answers ["deny"] for an explicit deny and ["root"] for a root token', async function () {
      const denied = await vault.call('POST', 'sys/capabilities-self', { token, body: { paths: ['secret/data/app/locked'] } });
      expect(denied.json.data.capabilities).to.deep.equal(['deny']);
      const root = await vault.call('POST', 'sys/capabilities-self', { body: { paths: ['secret/data/a', 'sys/mounts'] } });
      expect(root.json.data).to.deep.equal({ 'secret/data/a': ['root'], 'sys/mounts': ['root'] });
    });

    it('evaluates the policies as they are now', async function () {
      await vault.writePolicy('changing', 'path "secret/data/moving" { capabilities = ["read"] }');
      const changing = await vault.tokenWith(['changing']);
      const ask = async (): Promise<unknown> =>
        (await vault.call('POST', 'sys/capabilities-self', { token: changing, body: { paths: ['secret/data/moving'] } })).json.data.capabilities;
      expect(await ask()).to.deep.equal(['read']);
      await vault.writePolicy('changing', 'path "secret/data/moving" { capabilities = ["read", "patch", "delete"] }');
      expect(await ask()).to.deep.equal(['delete', 'patch', 'read']);
      await vault.call('DELETE', 'sys/policies/acl/changing');
      expect(await ask()).to.deep.equal(['deny']);
    });

    it('needs a live token and at least one path; the default policy grants it', async function () {
      const revoked = await vault.tokenWith(['caps']);
      await backend.revokeToken(revoked);
      const gone = await vault.call('POST', 'sys/capabilities-self', { token: revoked, body: { paths: ['secret/data/app/db'] } });
      expect(gone.status).to.equal(403);
      expect(gone.json).to.deep.equal({ errors: ['permission denied'] });
      const none = await vault.call('POST', 'sys/capabilities-self', { token, body: {} });
      expect(none.status).to.equal(400);
      expect(none.json).to.deep.equal({ errors: ['paths must be supplied'] });
      const defaultOnly = await vault.tokenWith(['default']);
      expect((await vault.call('POST', 'sys/capabilities-self', { token: defaultOnly, body: { paths: ['x'] } })).json.data.x)
        .to.deep.equal(['deny']);
      const noDefault = await vault.tokenWith(['caps'], { no_default_policy: true });
      expect((await vault.call('POST', 'sys/capabilities-self', { token: noDefault, body: { paths: ['x'] } })).status).to.equal(403);
    });

    it('parses subscribe and subscribe_event_types in JSON policies too', async function () {
      const policy = JSON.stringify({ path: { 'secret/data/json/*': { capabilities: ['subscribe', 'read'], subscribe_event_types: ['kv*'] } } });
      expect((await vault.call('PUT', 'sys/policies/acl/json-sub', { body: { policy } })).status).to.equal(204);
      const jsonToken = await vault.tokenWith(['json-sub']);
      const res = await vault.call('POST', 'sys/capabilities-self', { token: jsonToken, body: { paths: ['secret/data/json/a'] } });
      expect(res.json.capabilities).to.deep.equal(['read', 'subscribe']);
      const bad = await vault.call('PUT', 'sys/policies/acl/bad-sub', {
        body: { policy: 'path "secret/*" { capabilities = ["subscribe"] subscribe_event_types = "kv*" }' },
      });
      expect(bad.status).to.equal(400);
    });

    it('answers sys/capabilities for another token', async function () {
      const res = await vault.call('POST', 'sys/capabilities', { body: { token, paths: ['secret/data/app/db'] } });
      expect(res.status).to.equal(200);
      expect(res.json.capabilities).to.deep.equal(['read', 'update']);
      const bad = await vault.call('POST', 'sys/capabilities', { body: { token: 'hvs.nope', paths: ['secret/data/app/db'] } });
      expect(bad.status).to.equal(400);
    });
  });

  describe('sys/events/subscribe', function () {
    const open: Subscription[] = [];
    const track = (sub: Subscription): Subscription => { open.push(sub); return sub; };

    afterEach(function () {
      for (const sub of open.splice(0)) sub.ws.terminate();
      backend.sim?.events.setAvailable(true);
      backend.sim?.events.disconnectAll();
    });

    it('refuses tokens without read on the subscribe path, before the upgrade', async function () {
      const defaultOnly = await vault.tokenWith(['default']);
      for (const token of [defaultOnly, 'hvs.unknown', null]) {
        const res = await refused(url, token);
        expect(res.status).to.equal(403);
        expect(JSON.parse(res.body)).to.deep.equal({ errors: ['permission denied'] });
      }
      await vault.writePolicy('sub-v2-only', 'path "sys/events/subscribe/kv-v2*" { capabilities = ["read"] }');
      const narrow = await vault.tokenWith(['sub-v2-only']);
      expect((await refused(url, narrow, 'kv*')).status).to.equal(403);
      const ok = track(await subscribe(url, narrow, 'kv-v2*'));
      expect(ok.upgradeHeaders['cache-control']).to.equal('no-store');
      expect(ok.upgradeHeaders['strict-transport-security']).to.equal(HSTS);
    });

    simOnly(kind)('records an accepted subscribe request with status 101 (the simulator\'s own view)', async function () {
      const sim = backend.sim!;
      sim.clearRequests();
      track(await subscribe(url, root, 'kv-v2*'));
      expect(sim.requestsTo('/v1/sys/events/subscribe/kv-v2*').map((r) => r.status)).to.deep.equal([101]);
      expect(sim.events.subscriberCount()).to.equal(1);
    });

    it('answers plain requests and bad parameters like Vault 1.15', async function () {
      const plain = await vault.call('GET', 'sys/events/subscribe/kv*?json=true');
      expect(plain.status).to.equal(426);
      expect(plain.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      expect(plain.text).to.equal('WebSocket protocol violation: Connection header "keep-alive" does not contain Upgrade\n{"errors":["could not accept as websocket"]}\n');
      expect((await refused(url, root, 'kv*', 'json=maybe')).body).to.equal('{"errors":["invalid parameter for JSON: maybe"]}\n');
      expect((await refused(url, root, '%20', 'json=true')).body).to.equal('{"errors":["did not specify eventType to subscribe to"]}\n');
    });

    simOnly(kind)('refuses protobuf subscriptions (json=false or none), which it does not simulate', async function () {
      expect((await refused(url, root, 'kv*', '')).status).to.equal(400);
      expect((await refused(url, root, 'kv*', 'json=false')).status).to.equal(400);
    });

    it('streams every kv-v2 change as one CloudEvents JSON text frame, and nothing for reads', async function () {
      const sub = track(await subscribe(url, root));
      const accessor = (await vault.call('GET', 'sys/mounts')).json.data['secret/'].accessor as string;
      await vault.call('GET', 'secret/data/ev/app');
      await vault.call('POST', 'secret/data/ev/app', { body: { data: { v: 1 } } });
      await vault.call('POST', 'secret/data/ev/app', { body: { data: { v: 2 } } });
      await vault.call('PATCH', 'secret/data/ev/app', { body: { data: { w: 3 } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
      await vault.call('GET', 'secret/data/ev/app');
      await vault.call('GET', 'secret/metadata/ev/app');
      await vault.call('DELETE', 'secret/data/ev/app');
      await vault.call('POST', 'secret/delete/ev/app', { body: { versions: [2, 1] } });
      await vault.call('POST', 'secret/undelete/ev/app', { body: { versions: [1, 3] } });
      await vault.call('POST', 'secret/destroy/ev/app', { body: { versions: [2] } });
      await vault.call('POST', 'secret/metadata/ev/app', { body: { max_versions: 5 } });
      await vault.call('PATCH', 'secret/metadata/ev/app', { body: { custom_metadata: { a: 'b' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
      await vault.call('POST', 'secret/config', { body: { max_versions: 20 } });
      await vault.call('DELETE', 'secret/metadata/ev/app');
      await sub.waitFor(11);
      await sleep(100);
      expect(sub.frames).to.have.length(11);
      expect(sub.eventTypes()).to.deep.equal([
        'kv-v2/data-write', 'kv-v2/data-write', 'kv-v2/data-patch', 'kv-v2/data-delete', 'kv-v2/delete', 'kv-v2/undelete',
        'kv-v2/destroy', 'kv-v2/metadata-write', 'kv-v2/metadata-patch', 'kv-v2/config-write', 'kv-v2/metadata-delete',
      ]);
      const events = sub.events();
      const metadata = events.map((e) => e.data.event.metadata);
      const op = (operation: string, path: string, extra: Record<string, string> = {}): Record<string, string> =>
        ({ ...extra, modified: 'true', operation, path });
      const versions = (current: number, oldest = 0): Record<string, string> =>
        ({ current_version: String(current), oldest_version: String(oldest) });
      expect(metadata).to.deep.equal([
        op('data-write', 'secret/data/ev/app', { ...versions(1), data_path: 'secret/data/ev/app' }),
        op('data-write', 'secret/data/ev/app', { ...versions(2), data_path: 'secret/data/ev/app' }),
        op('data-patch', 'secret/data/ev/app', { ...versions(3), data_path: 'secret/data/ev/app' }),
        op('data-delete', 'secret/data/ev/app', versions(3)),
        op('delete', 'secret/delete/ev/app', { ...versions(3), deleted_versions: '[2,1]' }),
        op('undelete', 'secret/undelete/ev/app', { ...versions(3), undeleted_versions: '[1,3]', data_path: 'secret/data/ev/app' }),
        op('destroy', 'secret/destroy/ev/app', versions(3)),
        op('metadata-write', 'secret/metadata/ev/app', { data_path: 'secret/metadata/ev/app' }),
        op('metadata-patch', 'secret/metadata/ev/app', { data_path: 'secret/metadata/ev/app' }),
        op('config-write', 'secret/config', { data_path: 'secret/config' }),
        op('metadata-delete', 'secret/metadata/ev/app'),
      ]);
      // Frame shape: one JSON object per text frame, ending in a newline, Vault 1.15 CloudEvents keys.
      const first = sub.frames[0] as Frame;
      expect(first.binary).to.equal(false);
      expect(first.text.endsWith('}\n')).to.equal(true);
      const event = events[0];
      expect(Object.keys(event)).to.deep.equal(['id', 'source', 'specversion', 'type', 'data', 'datacontentype', 'time']);
      expect(event).to.include({ source: 'https://vaultproject.io/', specversion: '1.0', type: '*', datacontentype: 'application/cloudevents' });
      expect(event.id).to.match(UUID);
      expect(event.time).to.match(RFC3339);
      expect(event.data.event.id).to.equal(event.id);
      expect(Object.keys(event.data)).to.deep.equal(['event', 'event_type', 'plugin_info']);
      expect(event.data.plugin_info).to.deep.equal({ mount_class: 'secret', mount_accessor: accessor, mount_path: 'secret/', plugin: 'kv' });
      expect(Object.keys(event.data.event.metadata)).to.deep.equal(Object.keys(event.data.event.metadata).sort());
      expect(new Set(events.map((e) => e.id)).size).to.equal(events.length);
      for (const e of events) for (const value of Object.values(e.data.event.metadata)) expect(value).to.be.a('string');
    });

    simOnly(kind)('keeps what it emitted in sim.events.emitted', async function () {
      const sim = backend.sim!;
      const sub = track(await subscribe(url, root));
      await vault.call('POST', 'secret/data/emitted', { body: { data: { v: 1 } } });
      await vault.call('DELETE', 'secret/data/emitted');
      const events = (await sub.waitFor(2)).map((f) => JSON.parse(f.text));
      expect(sim.events.emitted.slice(-2).map((e) => [e.id, e.eventType, e.path, e.dataPath, e.frame])).to.deep.equal(
        events.map((e, i) => [e.id, e.data.event_type, e.data.event.metadata.path, e.data.event.metadata.data_path, sub.frames[i]?.text]));
    });

    it('streams kv-v1 writes and deletes', async function () {
      expect((await vault.call('POST', 'sys/mounts/kv1ev', { body: { type: 'kv', options: { version: '1' } } })).status).to.equal(204);
      const accessor = (await vault.call('GET', 'sys/mounts')).json.data['kv1ev/'].accessor as string;
      const sub = track(await subscribe(url, root, 'kv-v1/*'));
      await vault.call('POST', 'secret/data/not-v1', { body: { data: { a: 1 } } });
      await vault.call('POST', 'kv1ev/app/db', { body: { pw: 'x' } });
      await vault.call('GET', 'kv1ev/app/db');
      await vault.call('DELETE', 'kv1ev/app/db');
      await sub.waitFor(2);
      await sleep(100);
      const events = sub.events();
      expect(events.map((e) => [e.data.event_type, e.data.event.metadata])).to.deep.equal([
        ['kv-v1/write', { data_path: 'kv1ev/app/db', modified: 'true', operation: 'write', path: 'kv1ev/app/db' }],
        ['kv-v1/delete', { modified: 'true', operation: 'delete', path: 'kv1ev/app/db' }],
      ]);
      expect(events[0].data.plugin_info).to.deep.equal({ mount_class: 'secret', mount_accessor: accessor, mount_path: 'kv1ev/', plugin: 'kv' });
    });

    it('delivers only what the token may subscribe to, by policy at delivery time; events without data_path to root only', async function () {
      await vault.writePolicy('listener', `
        path "sys/events/subscribe/*" { capabilities = ["read"] }
        path "secret/data/team/*" {
          capabilities = ["read", "subscribe"]
          subscribe_event_types = ["kv-v2/data-*"]
        }
        path "secret/delete/team/*" {
          capabilities = ["subscribe"]
          subscribe_event_types = ["*"]
        }
      `);
      await vault.writePolicy('no-subscribe', `
        path "sys/events/subscribe/*" { capabilities = ["read"] }
        path "secret/*" { capabilities = ["read", "list"] subscribe_event_types = ["*"] }
      `);
      await vault.writePolicy('no-event-types', `
        path "sys/events/subscribe/*" { capabilities = ["read"] }
        path "secret/*" { capabilities = ["subscribe"] }
      `);
      const listener = track(await subscribe(url, await vault.tokenWith(['listener'])));
      const noSubscribe = track(await subscribe(url, await vault.tokenWith(['no-subscribe'])));
      const noEventTypes = track(await subscribe(url, await vault.tokenWith(['no-event-types'])));
      const rootSub = track(await subscribe(url, root));

      await vault.call('POST', 'secret/data/other/x', { body: { data: { a: 1 } } }); // no subscribe there
      await vault.call('POST', 'secret/data/team/x', { body: { data: { a: 1 } } }); // data-write: yes
      await vault.call('POST', 'secret/metadata/team/x', { body: { max_versions: 3 } }); // metadata path: no
      await vault.call('DELETE', 'secret/data/team/x'); // data-delete has no data_path: root only
      await vault.call('POST', 'secret/delete/team/x', { body: { versions: [1] } }); // no data_path either, whatever the policy
      await vault.writePolicy('listener', 'path "sys/events/subscribe/*" { capabilities = ["read"] }');
      await vault.call('POST', 'secret/data/team/y', { body: { data: { a: 1 } } }); // policy gone: no
      await rootSub.waitFor(6);
      await sleep(200);
      expect(rootSub.eventTypes()).to.deep.equal([
        'kv-v2/data-write', 'kv-v2/data-write', 'kv-v2/metadata-write', 'kv-v2/data-delete', 'kv-v2/delete', 'kv-v2/data-write',
      ]);
      expect(listener.eventTypes()).to.deep.equal(['kv-v2/data-write']);
      expect(listener.events()[0].data.event.metadata.path).to.equal('secret/data/team/x');
      expect(noSubscribe.frames).to.deep.equal([]);
      expect(noEventTypes.frames).to.deep.equal([]);
    });

    it('filters by the subscribed event type glob; a root token gets everything even once revoked, others stop for new paths', async function () {
      await vault.writePolicy('glob-listener', `
        path "sys/events/subscribe/*" { capabilities = ["read"] }
        path "secret/data/glob/*" { capabilities = ["subscribe"] subscribe_event_types = ["*"] }
      `);
      const token = await vault.tokenWith(['glob-listener']);
      const rootPolicy = await vault.tokenWith(['root']);
      const writes = track(await subscribe(url, token, 'kv-v2/data-write'));
      const rootish = track(await subscribe(url, rootPolicy, '*'));
      const all = track(await subscribe(url, root, '*'));
      await vault.call('POST', 'secret/data/glob/a', { body: { data: { a: 1 } } });
      await vault.call('DELETE', 'secret/data/glob/a');
      await writes.waitFor(1);
      await backend.revokeToken(token);
      await backend.revokeToken(rootPolicy);
      // An allowed (data path, event type) stays allowed for 5 minutes (Vault caches the check)...
      await vault.call('POST', 'secret/data/glob/a', { body: { data: { a: 2 } } });
      // ...a new data path is checked with the revoked token and refused.
      await vault.call('POST', 'secret/data/glob/b', { body: { data: { a: 1 } } });
      await all.waitFor(4);
      await rootish.waitFor(4);
      await sleep(200);
      const expected = ['kv-v2/data-write', 'kv-v2/data-delete', 'kv-v2/data-write', 'kv-v2/data-write'];
      expect(all.eventTypes()).to.deep.equal(expected);
      // A token with the root policy is checked once, when it subscribes.
      expect(rootish.eventTypes()).to.deep.equal(expected);
      expect(writes.events().map((e) => e.data.event.metadata.path)).to.deep.equal(['secret/data/glob/a', 'secret/data/glob/a']);
    });

    simOnly(kind)('answers 404 like Vault CE 1.16+ when events are unavailable (a simulator control)', async function () {
      const sim = backend.sim!;
      sim.events.setAvailable(false);
      const res = await refused(url, root);
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body)).to.deep.equal({ errors: ['1 error occurred:\n\t* unsupported path\n\n'] });
      expect((await refused(url, await vault.tokenWith(['default']))).status).to.equal(403);
      expect((await vault.call('GET', 'sys/events/subscribe/kv*?json=true')).status).to.equal(404);
      sim.events.setAvailable(true);
      track(await subscribe(url, root));
    });

    it('loses subscribers abruptly when their connections are cut, and accepts them again', async function () {
      const a = track(await subscribe(backend.serviceUrl, root));
      const b = track(await subscribe(backend.serviceUrl, root, 'kv-v2/*'));
      backend.cutConnections();
      expect(await a.closed).to.equal(1006);
      expect(await b.closed).to.equal(1006);
      const again = track(await subscribe(backend.serviceUrl, root));
      await vault.call('POST', 'secret/data/after-cut', { body: { data: { a: 1 } } });
      expect((await again.waitFor(1)).length).to.equal(1);
    });

    simOnly(kind)('counts subscribers (a simulator control)', async function () {
      const sim = backend.sim!;
      const a = track(await subscribe(url, root));
      track(await subscribe(url, root, 'kv-v2/*'));
      expect(sim.events.subscriberCount()).to.equal(2);
      sim.events.disconnectAll();
      expect(await a.closed).to.equal(1006);
      expect(sim.events.subscriberCount()).to.equal(0);
      const again = track(await subscribe(url, root));
      expect(sim.events.subscriberCount()).to.equal(1);
      again.close();
      await again.closed;
      await sleep(20);
      expect(sim.events.subscriberCount()).to.equal(0);
    });

    it('drops subscribers when Vault goes down, and accepts them again when it is back', async function () {
      const sub = track(await subscribe(backend.serviceUrl, root));
      await backend.stop();
      expect(await sub.closed).to.equal(1006);
      expect(backend.sim?.events.subscriberCount() ?? 0).to.equal(0);
      await backend.start();
      const again = track(await subscribe(backend.serviceUrl, root));
      await vault.call('POST', 'secret/data/restart', { body: { data: { a: 1 } } });
      expect((await again.waitFor(1)).length).to.equal(1);
    });

    simOnly(kind)('sendRaw delivers an arbitrary frame to every subscriber (a simulator control)', async function () {
      const sim = backend.sim!;
      const a = track(await subscribe(url, root));
      const b = track(await subscribe(url, root, 'kv-v1/*'));
      sim.events.sendRaw('not json {');
      sim.events.sendRaw(Buffer.from([0xff, 0x00, 0x01]));
      for (const sub of [a, b]) {
        const frames = await sub.waitFor(2);
        expect(frames[0]).to.include({ text: 'not json {', binary: false });
        expect(frames[1]?.binary).to.equal(true);
        expect([...(frames[1]?.data ?? [])]).to.deep.equal([0xff, 0x00, 0x01]);
      }
    });
  });
});
