// Fleet mode's auto-auth in the worker (src/worker/fleet-auto-auth.ts): a worker starts as a
// non-owner and never starts an AutoAuth (no login) until told it is the owner; an owner term adopts
// the token held (the shared one, or the one it started with); an ended term's late token or renewal
// is not handed on; a non-owner writes the owner's token to its sinks and does not send it; the
// owner ignores a shared token. And AutoAuth itself: a login that completes after stop() is not handed
// on, and a renewal is reported (onRenewed) with the lease Vault gave.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FileSink } from '../../../src/config/types.js';
import type { AuthMethod, LoginResult } from '../../../src/worker/auth/index.js';
import { AutoAuth } from '../../../src/worker/auto-auth.js';
import { FleetAutoAuth, type TermHooks } from '../../../src/worker/fleet-auto-auth.js';
import type { AdoptedToken } from '../../../src/worker/host.js';
import { SinkWriter } from '../../../src/worker/sink.js';
import { VaultClient } from '../../../src/vault/client.js';
import { sleep, waitFor } from '../../support/ports.js';

const silent = pino({ level: 'silent' });

/** An owner term as FleetAutoAuth drives it: run() until stop(), suspect() counted. */
class FakeTerm {
  stopped = false;
  suspected = 0;
  private end: () => void = () => undefined;
  private readonly ended = new Promise<void>((resolve) => { this.end = resolve; });
  constructor(readonly adopt: AdoptedToken | undefined, readonly hooks: TermHooks) {}
  run(): Promise<void> {
    return this.ended;
  }
  stop(): void {
    this.stopped = true;
    this.end();
  }
  suspect(): void {
    this.suspected++;
  }
  /** Ends by itself, as exit_after_auth or exit_on_err end an AutoAuth. */
  exit(): void {
    this.end();
  }
}

const tok = (token: string, leaseDurationSeconds = 60): AdoptedToken => ({ token, leaseDurationSeconds, renewable: true, obtainedAtMs: 1_000 });

describe('worker: fleet auto-auth (only the owner logs in, renews and subscribes)', () => {
  let dir: string;
  let vault: VaultClient;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-fleet-auth-'));
    vault = new VaultClient({ address: 'http://127.0.0.1:9', tlsSkipVerify: false, numRetries: 0 }, 1_000);
  });
  afterEach(() => {
    vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(held?: AdoptedToken) {
    const terms: FakeTerm[] = [];
    const used: string[] = [];
    const sent: AdoptedToken[] = [];
    const renewed: Array<Omit<AdoptedToken, 'token'>> = [];
    const roles: boolean[] = [];
    const sink: FileSink = { path: join(dir, 'token'), mode: 0o640 };
    const f = new FleetAutoAuth({
      startTerm: (adopt, hooks) => {
        const t = new FakeTerm(adopt, hooks);
        terms.push(t);
        return t as unknown as AutoAuth;
      },
      held,
      sinkWriters: [new SinkWriter(sink)],
      vault,
      log: silent,
      onToken: (t) => sent.push(t),
      onRenewed: (r) => renewed.push(r),
      useToken: (t) => used.push(t),
      ownerChanged: (o) => roles.push(o),
      minBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const done = f.run();
    return { f, done, terms, used, sent, renewed, roles, sinkPath: sink.path };
  }

  it('a non-owner never starts a term (no login); the token it started with is used at once, without a Vault call or a token message', () => {
    const w = start(tok('hvs.held'));
    expect(w.terms).to.have.length(0);
    expect(w.used).to.deep.equal(['hvs.held']);
    expect(w.sent).to.deep.equal([]);
    w.f.suspect(); // a refused shared token: nothing to do but wait for the owner's next one
    expect(w.terms).to.have.length(0);
    w.f.stop();
  });

  it('a shared token becomes the non-owner\'s token and goes to its sinks, but is not sent back; the owner ignores one', async () => {
    const w = start();
    w.f.shared(tok('hvs.shared-1'));
    expect(w.used).to.deep.equal(['hvs.shared-1']);
    expect(w.f.token?.token).to.equal('hvs.shared-1');
    await waitFor('the sink', () => (readFileSync(w.sinkPath, 'utf8') === 'hvs.shared-1' ? true : undefined), 2_000, 10);
    // The same token again (a new lease): the numbers follow, nothing is used anew.
    w.f.shared(tok('hvs.shared-1', 120));
    expect(w.used).to.deep.equal(['hvs.shared-1']);
    expect(w.f.token?.leaseDurationSeconds).to.equal(120);
    w.f.setOwner(true);
    w.f.shared(tok('hvs.shared-2'));
    expect(w.used).to.deep.equal(['hvs.shared-1']);
    expect(w.f.token?.token).to.equal('hvs.shared-1');
    expect(w.sent).to.deep.equal([]);
    w.f.stop();
  });

  it('becoming the owner starts one term that adopts the token held; losing it stops the term and drops its late token and renewal; owner again adopts the newest shared token', () => {
    const w = start(tok('hvs.held'));
    w.f.setOwner(true);
    w.f.setOwner(true);
    expect(w.terms).to.have.length(1);
    expect(w.terms[0]!.adopt?.token).to.equal('hvs.held');
    expect(w.roles).to.deep.equal([true]);
    // The term renews the adopted token: reported, and held with its new lease.
    w.terms[0]!.hooks.onRenewed({ leaseDurationSeconds: 90, renewable: true, obtainedAtMs: 2_000 });
    expect(w.renewed).to.deep.equal([{ leaseDurationSeconds: 90, renewable: true, obtainedAtMs: 2_000 }]);
    expect(w.f.token).to.deep.equal({ token: 'hvs.held', leaseDurationSeconds: 90, renewable: true, obtainedAtMs: 2_000 });
    const suspectedBefore = w.terms[0]!.suspected;
    w.f.suspect();
    expect(w.terms[0]!.suspected).to.equal(suspectedBefore + 1);

    w.f.setOwner(false);
    expect(w.terms[0]!.stopped).to.equal(true);
    expect(w.roles).to.deep.equal([true, false]);
    // A login or renewal that was in flight answers late: not handed on, not held.
    w.terms[0]!.hooks.onToken(tok('hvs.late-login'));
    w.terms[0]!.hooks.onRenewed({ leaseDurationSeconds: 5, renewable: true, obtainedAtMs: 3_000 });
    expect(w.terms[0]!.hooks.current()).to.equal(false);
    expect(w.sent).to.deep.equal([]);
    expect(w.renewed).to.have.length(1);
    expect(w.f.token?.token).to.equal('hvs.held');

    w.f.shared(tok('hvs.new-owner'));
    w.f.setOwner(true);
    expect(w.terms).to.have.length(2);
    expect(w.terms[1]!.adopt?.token).to.equal('hvs.new-owner');
    // Vault refused the adopted token: the term logged in; its token is sent and held.
    w.terms[1]!.hooks.onToken(tok('hvs.own-login'));
    expect(w.sent.map((t) => t.token)).to.deep.equal(['hvs.own-login']);
    expect(w.f.token?.token).to.equal('hvs.own-login');
    w.f.stop();
    expect(w.terms[1]!.stopped).to.equal(true);
  });

  it('a term that ends by itself (exit_after_auth, exit_on_err) ends the worker\'s auto-auth; stop() ends it too', async () => {
    const w = start();
    w.f.setOwner(true);
    w.terms[0]!.exit();
    expect(await Promise.race([w.done.then(() => 'done'), sleep(500).then(() => 'running')])).to.equal('done');
    const v = start();
    v.f.setOwner(true);
    v.f.setOwner(false); // a term stopped by a change of owner does not end the worker
    expect(await Promise.race([v.done.then(() => 'done'), sleep(200).then(() => 'running')])).to.equal('running');
    v.f.stop();
    expect(await Promise.race([v.done.then(() => 'done'), sleep(500).then(() => 'running')])).to.equal('done');
    v.f.setOwner(true); // after stop: no new term
    expect(v.terms).to.have.length(1);
  });
});

describe('worker: AutoAuth in a fleet term (stop during a login, renewals reported)', () => {
  let server: Server | undefined;
  let vault: VaultClient | undefined;
  afterEach(async () => {
    vault?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('a login that answers after stop() is not handed on', async () => {
    let release: (r: LoginResult) => void = () => undefined;
    const method: AuthMethod = { name: 'fake', login: () => new Promise<LoginResult>((resolve) => { release = resolve; }) };
    vault = new VaultClient({ address: 'http://127.0.0.1:9', tlsSkipVerify: false, numRetries: 0 }, 1_000);
    const tokens: string[] = [];
    const auto = new AutoAuth({
      vault, method, sinks: [], log: silent, minBackoffMs: 10, maxBackoffMs: 20, exitOnError: false, exitAfterAuth: false,
      onToken: (t) => tokens.push(t.token), onExit: () => undefined,
    });
    const done = auto.run();
    await sleep(20);
    auto.stop();
    release({ token: 'hvs.too-late', leaseDurationSeconds: 60, renewable: true });
    await done;
    expect(tokens).to.deep.equal([]);
  });

  it('each renewal is reported with the lease Vault gave (the owner shares it again)', async () => {
    let renewals = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        renewals++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ auth: { client_token: 'hvs.t', lease_duration: 1, renewable: true } }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    vault = new VaultClient({ address: `http://127.0.0.1:${port}`, tlsSkipVerify: false, numRetries: 0 }, 1_000);
    const method: AuthMethod = { name: 'fake', login: async () => ({ token: 'hvs.t', leaseDurationSeconds: 1, renewable: true }) };
    const reported: Array<{ leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number }> = [];
    const auto = new AutoAuth({
      vault, method, sinks: [], log: silent, minBackoffMs: 10, maxBackoffMs: 20, exitOnError: false, exitAfterAuth: false,
      onToken: () => undefined, onRenewed: (r) => reported.push(r), onExit: () => undefined,
    });
    const done = auto.run();
    await waitFor('two renewals reported', () => (reported.length >= 2 ? true : undefined), 5_000, 10);
    auto.stop();
    await done;
    expect(renewals).to.be.at.least(2);
    expect(reported.every((r) => r.leaseDurationSeconds === 1 && r.renewable)).to.equal(true);
    expect(reported[1]!.obtainedAtMs).to.be.at.least(reported[0]!.obtainedAtMs);
  });
});
