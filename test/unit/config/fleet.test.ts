// The fleet block (issue 16, step 1): `fleet { redis_url, encryption_key_file, … }` in HCL and JSON,
// every problem with its exact location and message, a password in redis_url never shown, the
// files it names checked as `check` and `serve` read them, and the key loader shared with persist.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFleetFiles, defaultReplicaId, loadFleetKeys, loadFleetPassword, redactRedisUrl, type FleetConfig } from '../../../src/config/fleet.js';
import { loadKeys } from '../../../src/config/key-file.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { loadPersistKey } from '../../../src/config/persist.js';
import { Problems } from '../../../src/config/problems.js';
import { CLI } from '../../support/paths.js';
import { run } from '../../support/process.js';
import { makeTestPki, type TestPki } from '../../support/tls.js';

const LISTENER = 'listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\n';
const PASSWORD = 'hunter2-Redis-Pw';

function hcl(body: string): ReturnType<typeof parseConfig> {
  return parseConfig(`${LISTENER}fleet {\n${body}\n}\n`, 'fleet.hcl', {});
}

/** The errors as `location: message`. */
function errors(body: string): string[] {
  return hcl(body).errors.map((e) => `${e.location}: ${e.message}`);
}

const MINIMAL = ' redis_url = "redis://127.0.0.1:6379/0"\n encryption_key_file = "/etc/vault-extproc/fleet.key"';

function key(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

describe('config: the fleet block (issue 16, fleet mode)', function () {
  this.timeout(30_000);

  describe('reading the block', () => {
    it('without a fleet block config.fleet is undefined and nothing is reported', () => {
      const r = parseConfig(LISTENER, 'plain.hcl', {});
      expect(r.config.fleet).to.equal(undefined);
      expect(r.problems).to.deep.equal([]);
    });

    it('the smallest block (redis_url and encryption_key_file) with every default; serve runs it', () => {
      const r = hcl(MINIMAL);
      expect(r.errors).to.deep.equal([]);
      expect(r.config.fleet).to.deep.equal({
        redis: { displayUrl: 'redis://127.0.0.1:6379/0', host: '127.0.0.1', port: 6379, database: 0 },
        keyFile: '/etc/vault-extproc/fleet.key',
        keyPrefix: 'vxp:',
        replicaId: defaultReplicaId(),
        ownerLeaseTtlSeconds: 15,
        requiredForReady: false,
        maxStaleWithoutRedisSeconds: 10,
      } satisfies FleetConfig);
      // serve runs it (issue 16: fleet mode wired).
      expect(r.serveBlockers).to.deep.equal([]);
    });

    it('fleet with cache { persist … } is an error: a restored replica missed the fleet\'s changes while it was down', () => {
      const r = parseConfig(`${LISTENER}fleet {\n${MINIMAL}\n}\nauto_auth {\n method "token_file" {\n config = { token_file_path = "/t" }\n }\n}\ncache {\n cache_static_secrets = true\n persist "file" {\n path = "/var/lib/vxp"\n key_file = "/k"\n }\n}\n`, 'fleet.hcl', {});
      expect(r.errors.map((e) => `${e.location}: ${e.message}`)).to.include(
        'fleet: cannot be combined with cache { persist … }: a restored cache missed the fleet\'s changes while the replica was down; the shared cache in Redis outlives a replica instead',
      );
      expect(hcl(MINIMAL).errors).to.deep.equal([]);
    });

    it('fleet with exit_after_auth, or with wrap_ttl on the auto_auth method, is an error: only the owner logs in', () => {
      const base = `${LISTENER}fleet {\n${MINIMAL}\n}\n`;
      const approle = (extra: string) => `auto_auth {\n method "approle" {\n ${extra}\n config = { role_id_file_path = "/r"\n secret_id_file_path = "/s" }\n }\n sink "file" {\n config = { path = "/tmp/t" }\n }\n}\n`;
      const exit = parseConfig(`${base}exit_after_auth = true\n${approle('')}`, 'fleet.hcl', {});
      expect(exit.errors.map((e) => `${e.location}: ${e.message}`)).to.include('fleet: cannot be combined with exit_after_auth: only the replica that owns the fleet logs in, so the others would never exit');
      const wrap = parseConfig(`${base}${approle('wrap_ttl = "5m"')}`, 'fleet.hcl', {});
      expect(wrap.errors.map((e) => `${e.location}: ${e.message}`)).to.include('fleet: cannot be combined with wrap_ttl on the auto_auth method: only the owner logs in, so only its sinks would get the wrapping token');
      expect(parseConfig(`${base}${approle('')}`, 'fleet.hcl', {}).errors).to.deep.equal([]);
    });

    it('every key, in HCL and in JSON: the same config', () => {
      const body = {
        redis_url: 'rediss://redis.internal:6380/3',
        username: 'vxp',
        password_file: '/etc/vault-extproc/redis.password',
        tls_ca_file: '/etc/vault-extproc/redis-ca.pem',
        tls_cert_file: '/etc/vault-extproc/redis-client.pem',
        tls_key_file: '/etc/vault-extproc/redis-client.key',
        tls_server_name: 'redis.internal',
        encryption_key_env_var: 'VXP_FLEET_KEYS',
        key_prefix: 'prod-a:',
        replica_id: 'extproc-0',
        owner_lease_ttl: '15s',
        required_for_ready: true,
        max_stale_without_redis: '1m',
      };
      const expected: FleetConfig = {
        redis: {
          displayUrl: 'rediss://redis.internal:6380/3', host: 'redis.internal', port: 6380, database: 3,
          tls: { caFile: '/etc/vault-extproc/redis-ca.pem', certFile: '/etc/vault-extproc/redis-client.pem', keyFile: '/etc/vault-extproc/redis-client.key', serverName: 'redis.internal' },
          username: 'vxp', passwordFile: '/etc/vault-extproc/redis.password',
        },
        keyEnvVar: 'VXP_FLEET_KEYS', keyPrefix: 'prod-a:', replicaId: 'extproc-0',
        ownerLeaseTtlSeconds: 15, requiredForReady: true, maxStaleWithoutRedisSeconds: 60,
      };
      const fromHcl = hcl(Object.entries(body).map(([k, v]) => ` ${k} = ${JSON.stringify(v)}`).join('\n'));
      expect(fromHcl.errors).to.deep.equal([]);
      expect(fromHcl.config.fleet).to.deep.equal(expected);
      const fromJson = parseConfig(JSON.stringify({ listener: { tcp: { address: '127.0.0.1:8100', tls_disable: true } }, fleet: body }), 'fleet.json', {});
      expect(fromJson.errors).to.deep.equal([]);
      expect(fromJson.config.fleet).to.deep.equal(expected);
    });

    it('refuses a block without redis_url, or without a key source, at the block', () => {
      expect(errors(' encryption_key_file = "/k"')).to.deep.equal([
        'fleet: redis_url is required: redis://host:6379/0, or rediss://host:6379/0 for TLS',
      ]);
      expect(errors(' redis_url = "redis://127.0.0.1"')).to.deep.equal([
        'fleet: encryption_key_file (or encryption_key_env_var) is required: a file holding 32 random bytes in base64 (`openssl rand -base64 32`)',
      ]);
      expect(hcl(' encryption_key_file = "/k"').config.fleet).to.equal(undefined);
      // The JSON form says the same at the same place.
      const json = parseConfig('{"fleet": {"encryption_key_file": "/k"}}', 'f.json', {});
      expect(json.errors.map((e) => `${e.location}: ${e.message}`)).to.include('fleet: redis_url is required: redis://host:6379/0, or rediss://host:6379/0 for TLS');
    });

    it('redis_url: redis:// or rediss://, a host, an optional port and database number, nothing else', () => {
      const bad: Array<[string, string]> = [
        ['http://127.0.0.1:6379', 'must start with redis:// (or rediss:// for TLS), got "http://127.0.0.1:6379"'],
        ['127.0.0.1:6379', 'must start with redis:// (or rediss:// for TLS), got "127.0.0.1:6379"'],
        ['redis 127.0.0.1', 'must start with redis:// (or rediss:// for TLS), got "redis 127.0.0.1"'],
        ['redis://h ost', 'must be a URL such as redis://127.0.0.1:6379/0, got "redis://h ost"'],
        ['redis:///0', 'names no host, got "redis:///0"'],
        ['redis://127.0.0.1:6379/zero', 'the path is the database number (/0, /1, …), got "redis://127.0.0.1:6379/zero"'],
        ['redis://127.0.0.1:6379/0/1', 'the path is the database number (/0, /1, …), got "redis://127.0.0.1:6379/0/1"'],
        ['redis://127.0.0.1:6379/0?tls=true', 'takes no query or fragment (TLS and auth are keys of the fleet block), got "redis://127.0.0.1:6379/0?tls=true"'],
        ['redis://127.0.0.1:0', 'port 0 is not a Redis port, got "redis://127.0.0.1:0"'],
        ['redis://127.0.0.1:70000', 'must be a URL such as redis://127.0.0.1:6379/0, got "redis://127.0.0.1:70000"'],
      ];
      for (const [url, message] of bad) {
        expect(errors(` redis_url = "${url}"\n encryption_key_file = "/k"`), url).to.deep.equal([`fleet > redis_url: ${message}`]);
      }
      const good: Array<[string, Partial<FleetConfig['redis']>]> = [
        ['redis://127.0.0.1', { host: '127.0.0.1', port: 6379, database: 0 }],
        ['redis://localhost:7000/', { host: 'localhost', port: 7000, database: 0 }],
        ['redis://[::1]:6379/15', { host: '::1', port: 6379, database: 15 }],
        ['rediss://redis.example/2', { host: 'redis.example', port: 6379, database: 2, tls: {} }],
      ];
      for (const [url, redis] of good) {
        const r = hcl(` redis_url = "${url}"\n encryption_key_file = "/k"`);
        expect(r.errors, url).to.deep.equal([]);
        expect(r.config.fleet?.redis, url).to.deep.include(redis);
      }
    });

    it('a password in redis_url is allowed (with a warning) and never shown: not in an error, a warning or displayUrl', () => {
      const r = hcl(` redis_url = "redis://vxp:${PASSWORD}@127.0.0.1:6379/1"\n encryption_key_file = "/k"`);
      expect(r.errors).to.deep.equal([]);
      expect(r.config.fleet?.redis).to.deep.include({ displayUrl: 'redis://vxp:***@127.0.0.1:6379/1', username: 'vxp', urlPassword: PASSWORD });
      expect(r.warnings.map((w) => `${w.location}: ${w.message}`)).to.deep.equal([
        'fleet > redis_url: holds a password (redis://vxp:***@127.0.0.1:6379/1): it is written in the config file; password_file keeps it out',
      ]);
      expect(loadFleetPassword(r.config.fleet!.redis)).to.equal(PASSWORD);
      // Percent-encoded in the URL, decoded for Redis.
      expect(hcl(' redis_url = "redis://:p%40ss@h"\n encryption_key_file = "/k"').config.fleet?.redis.urlPassword).to.equal('p@ss');
      // Every way of getting the URL wrong: the message shows it, the password never.
      const wrong = [
        `http://vxp:${PASSWORD}@h:6379`, `redis://vxp:${PASSWORD}@h:6379/x`, `redis://vxp:${PASSWORD}@h:6379/0?a=b`,
        `redis://vxp:${PASSWORD}#@h`, `redis://vxp:${PASSWORD}/x@h`, `redis://vxp:${PASSWORD}@:6379`,
      ];
      for (const url of wrong) {
        const out = hcl(` redis_url = "${url}"\n encryption_key_file = "/k"\n tls_ca_file = "/ca.pem"`);
        expect(out.errors.length, url).to.be.greaterThan(0);
        expect(JSON.stringify(out.problems), url).to.not.include(PASSWORD);
        expect(JSON.stringify(out.problems), url).to.include('***');
      }
      // With a TLS key on a redis:// URL the message names the URL: redacted.
      expect(errors(` redis_url = "redis://vxp:${PASSWORD}@h"\n encryption_key_file = "/k"\n tls_ca_file = "/ca.pem"`)).to.deep.equal([
        'fleet > tls_ca_file: TLS to Redis needs a rediss:// URL; redis_url is redis://vxp:***@h',
      ]);
    });

    it('redactRedisUrl: a password (and a user name that is not plainly one) become ***, in URLs that parse and that do not', () => {
      expect(redactRedisUrl('redis://h:6379/0')).to.equal('redis://h:6379/0');
      expect(redactRedisUrl('redis://user@h')).to.equal('redis://user@h');
      expect(redactRedisUrl('redis://:pw@h')).to.equal('redis://:***@h');
      expect(redactRedisUrl('rediss://u:pw@h:1/2')).to.equal('rediss://u:***@h:1/2');
      expect(redactRedisUrl('redis://u:p@w@rd@h/0')).to.equal('redis://u:***@h/0');
      expect(redactRedisUrl('redis://u:p/w#x@h/0')).to.equal('redis://u:***@h/0');
      expect(redactRedisUrl('redis://pass word@h')).to.equal('redis://***@h');
    });

    it('an unknown key is an error (a misspelt key is never ignored); an inline password or key is refused with what to write', () => {
      expect(errors(`${MINIMAL}\n required_for_redy = true`)).to.deep.equal([
        'fleet > required_for_redy: unknown key (fleet takes redis_url, username, password_file, tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, encryption_key_file, encryption_key_env_var, key_prefix, replica_id, owner_lease_ttl, required_for_ready, max_stale_without_redis)',
      ]);
      const r = hcl(`${MINIMAL}\n password = "${PASSWORD}"\n encryption_key = "${key()}"\n encryption_key_files = ["/a", "/b"]\n tls_skip_verify = true`);
      expect(r.errors.map((e) => `${e.location}: ${e.message}`)).to.deep.equal([
        'fleet > password: a password is never written in the config: name a file holding it with password_file',
        'fleet > encryption_key: the key is never written in the config: name a file holding it with encryption_key_file (or a variable with encryption_key_env_var)',
        'fleet > encryption_key_files: one file holds every key, one per line, newest first: encryption_key_file',
        'fleet > tls_skip_verify: not offered: give the CA that signed the Redis certificate with tls_ca_file',
      ]);
      expect(JSON.stringify(r.problems)).to.not.include(PASSWORD);
      expect(r.config.fleet).to.equal(undefined);
      // The JSON form too, and an error has its line in HCL.
      expect(parseConfig('{"fleet": {"redis_url": "redis://h", "encryption_key_file": "/k", "bogus": 1}}', 'f.json', {}).errors.map((e) => e.location).filter((l) => l.startsWith('fleet'))).to.deep.equal(['fleet > bogus']);
      expect(hcl(`${MINIMAL}\n bogus = 1`).errors[0]!.position).to.deep.equal({ line: 8, column: 2 });
    });

    it('the key source: encryption_key_file or encryption_key_env_var, not both', () => {
      expect(errors(`${MINIMAL}\n encryption_key_env_var = "VXP_FLEET_KEYS"`)).to.deep.equal([
        'fleet > encryption_key_env_var: set encryption_key_file or encryption_key_env_var, not both',
      ]);
      expect(hcl(' redis_url = "redis://h"\n encryption_key_env_var = "K"').config.fleet).to.deep.include({ keyEnvVar: 'K' }).and.not.have.property('keyFile');
    });

    it('auth: the user in the URL or in username (not both); a user needs a password; the URL\'s password or password_file (not both)', () => {
      expect(errors(' redis_url = "redis://a@h"\n username = "b"\n password_file = "/p"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > username: the user is named in both redis_url and username; keep one',
      ]);
      expect(errors(' redis_url = "redis://h"\n username = "vxp"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > username: a Redis user needs its password: name a file holding it with password_file',
      ]);
      expect(errors(' redis_url = "redis://vxp@h"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > redis_url: a Redis user needs its password: name a file holding it with password_file',
      ]);
      expect(errors(` redis_url = "redis://vxp:${PASSWORD}@h"\n password_file = "/p"\n encryption_key_file = "/k"`)).to.deep.equal([
        'fleet > password_file: redis_url holds a password and password_file names another; keep one (password_file keeps it out of the config)',
      ]);
      // Without a user: Redis's default user (requirepass), password_file alone.
      expect(hcl(' redis_url = "redis://h"\n password_file = "/p"\n encryption_key_file = "/k"').config.fleet?.redis).to.deep.include({ passwordFile: '/p' });
    });

    it('TLS: the tls_* keys only with rediss://; the client certificate and its key together', () => {
      expect(errors(' redis_url = "redis://h"\n tls_ca_file = "/ca.pem"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > tls_ca_file: TLS to Redis needs a rediss:// URL; redis_url is redis://h',
      ]);
      expect(errors(' redis_url = "rediss://h"\n tls_cert_file = "/c.pem"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > tls_key_file: tls_cert_file and tls_key_file (the client certificate for Redis) must be set together',
      ]);
      expect(errors(' redis_url = "rediss://h"\n tls_key_file = "/c.key"\n encryption_key_file = "/k"')).to.deep.equal([
        'fleet > tls_cert_file: tls_cert_file and tls_key_file (the client certificate for Redis) must be set together',
      ]);
      // rediss:// alone: TLS with the system's CAs.
      expect(hcl(' redis_url = "rediss://h"\n encryption_key_file = "/k"').config.fleet?.redis.tls).to.deep.equal({});
    });

    it('owner_lease_ttl within 5s–5m, max_stale_without_redis within 0–5m, required_for_ready a boolean', () => {
      expect(errors(`${MINIMAL}\n owner_lease_ttl = "1s"`)).to.deep.equal(['fleet > owner_lease_ttl: must be between 5s and 5m, got 1s']);
      expect(errors(`${MINIMAL}\n owner_lease_ttl = "4500ms"`)).to.deep.equal(['fleet > owner_lease_ttl: must be between 5s and 5m, got 4.5s']);
      expect(errors(`${MINIMAL}\n owner_lease_ttl = "6m"`)).to.deep.equal(['fleet > owner_lease_ttl: must be between 5s and 5m, got 6m']);
      expect(errors(`${MINIMAL}\n owner_lease_ttl = "soon"`)).to.deep.equal(['fleet > owner_lease_ttl: must be a duration such as "30s", "5m" or "1h30m", got "soon"']);
      expect(errors(`${MINIMAL}\n max_stale_without_redis = "301s"`)).to.deep.equal(['fleet > max_stale_without_redis: must be between 0s and 5m, got 301s']);
      expect(errors(`${MINIMAL}\n max_stale_without_redis = "-5s"`)).to.deep.equal(['fleet > max_stale_without_redis: must not be negative, got "-5s"']);
      expect(errors(`${MINIMAL}\n required_for_ready = "maybe"`)).to.deep.equal(['fleet > required_for_ready: must be true or false, got "maybe"']);
      const edges = hcl(`${MINIMAL}\n owner_lease_ttl = "5s"\n max_stale_without_redis = 0`).config.fleet;
      expect(edges).to.deep.include({ ownerLeaseTtlSeconds: 5, maxStaleWithoutRedisSeconds: 0 });
      expect(hcl(`${MINIMAL}\n owner_lease_ttl = "5m"\n max_stale_without_redis = "5m"`).config.fleet).to.deep.include({ ownerLeaseTtlSeconds: 300, maxStaleWithoutRedisSeconds: 300 });
    });

    it('key_prefix and replica_id are checked; the default replica id is host-pid-random, the same for every read in one process', () => {
      expect(errors(`${MINIMAL}\n key_prefix = "vxp *"`)).to.deep.equal([
        'fleet > key_prefix: must be 1 to 64 printable characters without spaces or the glob characters * ? [ ] \\ (Redis ACLs match it as ~prefix*), got "vxp *"',
      ]);
      expect(errors(`${MINIMAL}\n key_prefix = ""`)).to.have.length(1);
      expect(errors(`${MINIMAL}\n key_prefix = "a[1]:"`)).to.have.length(1);
      expect(errors(`${MINIMAL}\n replica_id = "pod 1"`)).to.deep.equal(['fleet > replica_id: must be 1 to 128 letters, digits or . _ : @ -, got "pod 1"']);
      const id = hcl(MINIMAL).config.fleet!.replicaId;
      expect(id).to.match(new RegExp(`^[A-Za-z0-9._-]+-${process.pid}-[0-9a-f]{6}$`));
      expect(hcl(MINIMAL).config.fleet!.replicaId).to.equal(id);
    });

    it('only one fleet block', () => {
      const r = parseConfig(`${LISTENER}fleet {\n${MINIMAL}\n}\nfleet {\n${MINIMAL}\n}\n`, 'two.hcl', {});
      expect(r.errors.map((e) => `${e.location}: ${e.message}`)).to.deep.equal(['fleet: only one fleet block is allowed, found 2']);
    });
  });

  describe('the files it names (what check and serve read before starting)', () => {
    let dir: string;
    let pki: TestPki;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vxp-fleet-config-'));
      pki = makeTestPki();
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(pki.dir, { recursive: true, force: true });
    });

    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    /** Every problem the file checks give (after reading), as `location: message`. */
    const fileProblems = (body: string, env: NodeJS.ProcessEnv = {}): string[] => {
      const config = file(`c-${Math.random().toString(36).slice(2)}.hcl`, `${LISTENER}extproc { address = "unix://${join(dir, 'e.sock')}" }\nfleet {\n${body}\n}\n`);
      const r = loadConfigFile(config, { env });
      return r.problems.filter((p) => p.location.startsWith('fleet')).map((p) => `${p.location}: ${p.message}`);
    };

    it('two keys (newest first), a password file and the TLS files: no problems; the keys load newest first', () => {
      const newest = randomBytes(32);
      const older = randomBytes(32);
      const keys = file('fleet.key', `# rotated 2026-12\n${newest.toString('base64')}\n\n${older.toString('base64')}\n`);
      const pw = file('redis.password', `${PASSWORD}\n`);
      expect(fileProblems(` redis_url = "rediss://vxp@localhost:6380/0"\n password_file = "${pw}"\n encryption_key_file = "${keys}"
 tls_ca_file = "${pki.caCert}"\n tls_cert_file = "${pki.clientCert}"\n tls_key_file = "${pki.clientKey}"\n tls_server_name = "localhost"`)).to.deep.equal([]);
      const loaded = loadFleetKeys({ keyFile: keys });
      expect(loaded.map((k) => k.toString('hex'))).to.deep.equal([newest.toString('hex'), older.toString('hex')]);
      expect(loadFleetPassword({ displayUrl: '', host: 'h', port: 1, database: 0, passwordFile: pw })).to.equal(PASSWORD);
      expect(() => loadFleetPassword({ displayUrl: '', host: 'h', port: 1, database: 0, passwordFile: join(dir, 'gone') })).to.throw(`cannot read the Redis password from ${join(dir, 'gone')}: no such file`);
    });

    it('a key file missing, not base64, of 31 bytes, empty, or repeating a key: an error at fleet > encryption_key_file naming the file', () => {
      const k = key();
      const cases: Array<[string, (path: string) => string]> = [
        ['missing.key', (p) => `cannot read the key file ${p}: no such file`],
        ['text.key', (p) => `${p} does not hold base64 (write it with \`openssl rand -base64 32\`)`],
        ['short.key', (p) => `${p} holds 31 bytes; the key must be 32 random bytes in base64 (\`openssl rand -base64 32\`)`],
        ['empty.key', (p) => `${p} holds no key (write one with \`openssl rand -base64 32\`)`],
        ['second-short.key', (p) => `${p}: key 2 (of 2) holds 16 bytes; each key must be 32 random bytes in base64 (\`openssl rand -base64 32\`)`],
        ['twice.key', (p) => `${p}: key 2 repeats key 1; a new key must be freshly made (\`openssl rand -base64 32\`)`],
      ];
      const content: Record<string, string> = {
        'text.key': 'not base64 at all!\n', 'short.key': `${key(31)}\n`, 'empty.key': '\n# nothing yet\n',
        'second-short.key': `${key()}\n${key(16)}\n`, 'twice.key': `${k}\n${k}\n`,
      };
      for (const [name, message] of cases) {
        const path = content[name] !== undefined ? file(name, content[name]!) : join(dir, name);
        expect(fileProblems(` redis_url = "redis://h"\n encryption_key_file = "${path}"`), name).to.deep.equal([`fleet > encryption_key_file: ${message(path)}`]);
      }
      // No key in any message.
      expect(JSON.stringify(fileProblems(` redis_url = "redis://h"\n encryption_key_file = "${join(dir, 'twice.key')}"`))).to.not.include(k);
    });

    it('encryption_key_env_var: unset or holding a short key is an error naming the variable; comma-separated keys load newest first', () => {
      expect(fileProblems(' redis_url = "redis://h"\n encryption_key_env_var = "VXP_FLEET_KEYS"', {})).to.deep.equal([
        'fleet > encryption_key_env_var: the environment variable VXP_FLEET_KEYS is not set',
      ]);
      expect(fileProblems(' redis_url = "redis://h"\n encryption_key_env_var = "VXP_FLEET_KEYS"', { VXP_FLEET_KEYS: key(31) })).to.deep.equal([
        'fleet > encryption_key_env_var: the environment variable VXP_FLEET_KEYS holds 31 bytes; the key must be 32 random bytes in base64 (`openssl rand -base64 32`)',
      ]);
      const [a, b] = [randomBytes(32), randomBytes(32)];
      const env = { VXP_FLEET_KEYS: `${a.toString('base64')},${b.toString('base64')}` };
      expect(fileProblems(' redis_url = "redis://h"\n encryption_key_env_var = "VXP_FLEET_KEYS"', env)).to.deep.equal([]);
      expect(loadFleetKeys({ keyEnvVar: 'VXP_FLEET_KEYS' }, env).map((k) => k.toString('hex'))).to.deep.equal([a.toString('hex'), b.toString('hex')]);
    });

    it('password_file unreadable or empty; TLS files missing, not PEM, or a key that is not the certificate\'s', () => {
      const keys = file('ok.key', `${key()}\n`);
      const empty = file('empty.password', '\n');
      const notPem = file('not.pem', 'hello\n');
      const missingPw = join(dir, 'no.password');
      expect(fileProblems(` redis_url = "redis://h"\n password_file = "${missingPw}"\n encryption_key_file = "${keys}"`)).to.deep.equal([
        `fleet > password_file: cannot read the Redis password from ${missingPw}: no such file`,
      ]);
      expect(fileProblems(` redis_url = "redis://h"\n password_file = "${empty}"\n encryption_key_file = "${keys}"`)).to.deep.equal([
        `fleet > password_file: cannot read the Redis password from ${empty}: is empty`,
      ]);
      expect(fileProblems(` redis_url = "rediss://h"\n tls_ca_file = "${join(dir, 'no-ca.pem')}"\n encryption_key_file = "${keys}"`)).to.deep.equal([
        `fleet > tls_ca_file: cannot read ${join(dir, 'no-ca.pem')}: no such file`,
      ]);
      expect(fileProblems(` redis_url = "rediss://h"\n tls_ca_file = "${notPem}"\n encryption_key_file = "${keys}"`)).to.deep.equal([
        `fleet > tls_ca_file: ${notPem} holds no PEM certificate`,
      ]);
      const mismatch = fileProblems(` redis_url = "rediss://h"\n tls_cert_file = "${pki.clientCert}"\n tls_key_file = "${pki.serverKey}"\n encryption_key_file = "${keys}"`);
      expect(mismatch).to.have.length(1);
      expect(mismatch[0]).to.match(new RegExp(`^fleet > tls_key_file: ${pki.serverKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not the key of `));
    });

    it('checkFleetFiles alone reports nothing for good files (what serve and the fleet modules will call)', () => {
      const problems = new Problems();
      const keys = file('alone.key', `${key()}\n`);
      checkFleetFiles(hcl(` redis_url = "redis://h"\n encryption_key_file = "${keys}"`).config.fleet!, problems, {});
      expect(problems.list).to.deep.equal([]);
    });
  });

  describe('the key loader shared with persist (src/config/key-file.ts)', () => {
    let dir: string;
    before(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-key-file-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('one key per line or comma separated, comments and blank lines skipped, CRLF read; persist takes exactly one key', () => {
      const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
      const path = join(dir, 'keys');
      writeFileSync(path, `# newest first\r\n${a.toString('base64')}\r\n\r\n${b.toString('base64')}, ${c.toString('base64')}\r\n`);
      expect(loadKeys({ keyFile: path }).map((k) => k.toString('hex'))).to.deep.equal([a, b, c].map((k) => k.toString('hex')));
      expect(() => loadPersistKey({ keyFile: path })).to.throw(`${path} holds 3 keys; persist takes exactly one`);
      const one = join(dir, 'one');
      writeFileSync(one, `${a.toString('base64')}\n`);
      expect(loadPersistKey({ keyFile: one }).equals(a)).to.equal(true);
    });
  });

  describe('through the CLI (the built vault-extproc)', () => {
    let dir: string;
    before(() => { dir = mkdtempSync(join(tmpdir(), 'vxp-fleet-cli-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('check lists every fleet problem and exits 1; serve refuses the same config and never starts; no password in either', async () => {
      const config = join(dir, 'broken.hcl');
      writeFileSync(config, `${LISTENER}extproc { address = "unix://${join(dir, 'e.sock')}" }
fleet {
  redis_url = "redis://vxp:${PASSWORD}@127.0.0.1:6379/x"
  encryption_key_file = "${join(dir, 'absent.key')}"
  owner_lease_ttl = "1s"
  requird_for_ready = true
}
`);
      const check = await run(process.execPath, [CLI, 'check', '--config', config]);
      expect(check.code, check.stdout + check.stderr).to.equal(1);
      const errorLines = check.stdout.split('\n').filter((l) => l.startsWith('error:')).map((l) => l.replace(`error: ${config}: `, '').replace(/ \(line \d+, column \d+\)$/, ''));
      expect(errorLines).to.deep.equal([
        'fleet > redis_url: the path is the database number (/0, /1, …), got "redis://vxp:***@127.0.0.1:6379/x"',
        'fleet > owner_lease_ttl: must be between 5s and 5m, got 1s',
        'fleet > requird_for_ready: unknown key (fleet takes redis_url, username, password_file, tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, encryption_key_file, encryption_key_env_var, key_prefix, replica_id, owner_lease_ttl, required_for_ready, max_stale_without_redis)',
      ]);
      expect(check.stdout).to.match(/serve refuses this config\n$/);
      const serve = await run(process.execPath, [CLI, 'serve', '--config', config]);
      expect(serve.code, serve.stderr).to.equal(1);
      expect(serve.stderr).to.match(/; not starting\n$/);
      expect(check.stdout + check.stderr + serve.stdout + serve.stderr).to.not.include(PASSWORD);
    });

    it('a good fleet block: check names only the missing key file, then nothing: valid', async () => {
      const keyPath = join(dir, 'fleet.key');
      const config = join(dir, 'good.hcl');
      writeFileSync(config, `${LISTENER}extproc { address = "unix://${join(dir, 'e.sock')}" }
fleet {
  redis_url = "redis://127.0.0.1:6379/0"
  encryption_key_file = "${keyPath}"
}
`);
      const before = await run(process.execPath, [CLI, 'check', '--config', config]);
      expect(before.stdout).to.include(`error: ${config}: fleet > encryption_key_file: cannot read the key file ${keyPath}: no such file`);
      writeFileSync(keyPath, `${key()}\n`);
      const after = await run(process.execPath, [CLI, 'check', '--config', config]);
      expect(after.stdout.split('\n').filter((l) => /^(error|warning):/.test(l))).to.deep.equal([]);
      expect(after.code).to.equal(0);
    });
  });
});
