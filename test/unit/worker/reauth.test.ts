// enable_reauth_on_new_credentials: auto-auth polls the method's credentialFiles() and logs in
// again once per change, never in a storm. A fake method counts the logins and what it read.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AuthMethod, LoginResult } from '../../../src/worker/auth/index.js';
import { AutoAuth } from '../../../src/worker/auto-auth.js';
import { VaultClient } from '../../../src/vault/client.js';
import { sleep, waitFor } from '../../support/ports.js';

const POLL_MS = 50;

/** Reads its credential file on each login; fails logins while `failing` is set. */
class FakeMethod implements AuthMethod {
  readonly name = 'fake';
  readonly reads: string[] = [];
  failing = false;
  constructor(private readonly file: string) {}
  credentialFiles(): string[] {
    return [this.file];
  }
  async login(): Promise<LoginResult> {
    let content = '(absent)';
    try {
      content = readFileSync(this.file, 'utf8');
    } catch {
      // a removed file: the method would use what it read before
    }
    this.reads.push(content);
    if (this.failing) throw new Error('login refused');
    // Not renewable and an hour long: nothing but a credential change makes another login.
    return { token: `token-${this.reads.length}`, leaseDurationSeconds: 3600, renewable: false };
  }
}

describe('worker: enable_reauth_on_new_credentials (credential files polled)', function () {
  this.timeout(15_000);
  let dir: string;
  const running: Array<{ auto: AutoAuth; done: Promise<void>; vault: VaultClient }> = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vxp-reauth-'));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.auto.stop();
      await r.done;
      r.vault.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function start(method: FakeMethod, reauth = true, minBackoffMs = 200) {
    const vault = new VaultClient({ address: 'http://127.0.0.1:9', tlsSkipVerify: false, numRetries: 0 }, 1_000);
    const tokens: string[] = [];
    const auto = new AutoAuth({
      vault, method, sinks: [], log: pino({ level: 'silent' }),
      minBackoffMs, maxBackoffMs: minBackoffMs * 4, exitOnError: false, exitAfterAuth: false,
      reauthOnNewCredentials: reauth, credentialPollMs: POLL_MS,
      onToken: (t) => tokens.push(t.token),
      onExit: () => undefined,
    });
    const done = auto.run();
    running.push({ auto, done, vault });
    return tokens;
  }

  /** Waits long enough for several polls to have run. */
  const settle = () => sleep(POLL_MS * 8);

  it('a rewritten credential file makes exactly one new login, with the new content', async () => {
    const file = join(dir, 'jwt');
    writeFileSync(file, 'first');
    const method = new FakeMethod(file);
    const tokens = start(method);
    await waitFor('the first login', () => tokens[0]);
    await settle();
    expect(method.reads).to.deep.equal(['first']);
    writeFileSync(join(dir, 'jwt.new'), 'second');
    renameSync(join(dir, 'jwt.new'), file);
    await waitFor('a second login', () => tokens[1]);
    await settle();
    expect(method.reads).to.deep.equal(['first', 'second']);
    expect(tokens).to.deep.equal(['token-1', 'token-2']);
  });

  it('a kubelet-style ..data symlink swap is seen as new credentials', async () => {
    // projected volume layout: token -> ..data/token, ..data -> ..<timestamp>/
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'token'), 'jwt-v1');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'token'), join(dir, 'token'));
    const method = new FakeMethod(join(dir, 'token'));
    const tokens = start(method);
    await waitFor('the first login', () => tokens[0]);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'token'), 'jwt-v2');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..v1'), { recursive: true });
    await waitFor('a login with the rotated token', () => tokens[1]);
    await settle();
    expect(method.reads).to.deep.equal(['jwt-v1', 'jwt-v2']);
  });

  it('a removed credential file is not a change; the file written again is', async () => {
    const file = join(dir, 'secret_id');
    writeFileSync(file, 'one');
    const method = new FakeMethod(file);
    const tokens = start(method);
    await waitFor('the first login', () => tokens[0]);
    rmSync(file);
    await settle();
    expect(tokens).to.have.length(1);
    writeFileSync(file, 'two');
    await waitFor('a login after the file came back', () => tokens[1]);
    await settle();
    expect(method.reads).to.deep.equal(['one', 'two']);
  });

  it('without enable_reauth_on_new_credentials a changed file makes no login', async () => {
    const file = join(dir, 'jwt');
    writeFileSync(file, 'first');
    const method = new FakeMethod(file);
    const tokens = start(method, false);
    await waitFor('the first login', () => tokens[0]);
    writeFileSync(file, 'second, longer');
    await settle();
    expect(method.reads).to.deep.equal(['first']);
  });

  it('changes while logins fail wait for the backoff: no login storm', async () => {
    const file = join(dir, 'jwt');
    writeFileSync(file, 'v0');
    const method = new FakeMethod(file);
    const tokens = start(method, true, 2_000);
    await waitFor('the first login', () => tokens[0]);
    method.failing = true;
    writeFileSync(file, 'v1');
    await waitFor('the failed re-login', () => (method.reads.length === 2 ? true : undefined));
    // The next attempt is due after the backoff (at least 1.5 s): five more changes meanwhile add none.
    for (let i = 2; i <= 6; i++) {
      writeFileSync(file, `v${i}`);
      await sleep(POLL_MS * 2);
    }
    expect(method.reads).to.deep.equal(['v0', 'v1']);
    method.failing = false;
    await waitFor('the retry after the backoff', () => tokens[1], 5_000);
    await settle();
    // One attempt after the backoff reads the newest file; nothing queued behind it.
    expect(method.reads).to.deep.equal(['v0', 'v1', 'v6']);
  });

  describe('credentials that are not files (credentialFingerprint, as aws iam polls its chain)', () => {
    /** Logs in with whatever `credentials` holds; reports its digest (undefined: none now). */
    class ChainMethod implements AuthMethod {
      readonly name = 'chain';
      readonly credentialPollMs = POLL_MS;
      readonly used: Array<string | undefined> = [];
      credentials: string | undefined = 'key-1';
      async credentialFingerprint(): Promise<string | undefined> {
        return this.credentials;
      }
      async login(): Promise<LoginResult> {
        this.used.push(this.credentials);
        return { token: `token-${this.used.length}`, leaseDurationSeconds: 3600, renewable: false };
      }
    }

    function startChain(method: ChainMethod, reauth = true) {
      const vault = new VaultClient({ address: 'http://127.0.0.1:9', tlsSkipVerify: false, numRetries: 0 }, 1_000);
      const tokens: string[] = [];
      const auto = new AutoAuth({
        vault, method, sinks: [], log: pino({ level: 'silent' }),
        minBackoffMs: 200, maxBackoffMs: 800, exitOnError: false, exitAfterAuth: false,
        // The file poll is slow here: only the method's own poll interval can see the change in time.
        reauthOnNewCredentials: reauth, credentialPollMs: 60_000,
        onToken: (t) => tokens.push(t.token),
        onExit: () => undefined,
      });
      const done = auto.run();
      running.push({ auto, done, vault });
      return tokens;
    }

    it('new credentials from the chain make one new login, at the method\'s poll interval; none while it has none', async () => {
      const method = new ChainMethod();
      const tokens = startChain(method);
      await waitFor('the first login', () => tokens[0]);
      method.credentials = undefined;
      await settle();
      expect(method.used).to.deep.equal(['key-1']);
      method.credentials = 'key-2';
      await waitFor('a login with the new credentials', () => tokens[1], 5_000);
      await settle();
      expect(method.used).to.deep.equal(['key-1', 'key-2']);
    });

    it('without enable_reauth_on_new_credentials the chain is not polled', async () => {
      const method = new ChainMethod();
      const tokens = startChain(method, false);
      await waitFor('the first login', () => tokens[0]);
      method.credentials = 'key-2';
      await settle();
      expect(method.used).to.deep.equal(['key-1']);
    });
  });
});
