// Dynamic secrets in templates (database credentials): the destination is rendered again with new
// credentials before the lease it shows ends, and the template's `command` runs once per change.
// Against a real Vault 1.15.6 the database engine issues real PostgreSQL logins (the throwaway
// PostgreSQL of test/support/postgres.ts) and the new credentials log in; the simulator's engine
// issues the same shapes of leases, and also non-renewable ones (read again at
// lease_renewal_threshold of the lease).
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, isSim, simOnly, type Backend } from '../support/backend.js';
import { sleep, waitFor } from '../support/ports.js';
import { startDatabaseBackend, type DatabaseBackend } from '../support/database-backend.js';
import type { Postgres } from '../support/postgres.js';
import type { Proc } from '../support/process.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../support/vault-setup.js';
import { readOr, startServe } from './templates-helpers.js';

const POLICY = `path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }`;

/** `<lease id> <username> <password>` as the template renders it. */
const TEMPLATE = '{{ with secret "database/creds/ROLE" }}{{ .LeaseID }} {{ .Data.username }} {{ .Data.password }}{{ end }}';

interface Shown { text: string; seenAtMs: number }

forEachBackend('e2e: templates with dynamic secrets (database credentials)', function (kind) {
  this.timeout(90_000);
  let vault: Backend;
  let pg: Postgres | undefined;
  let db: DatabaseBackend;
  const procs: Proc[] = [];
  let creds: { roleId: string; secretId: string };
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const p of procs) process.stderr.write(`\n--- ${p.name} ---\n${p.text}\n`);
    process.stderr.write(`\n${db?.logs() ?? ''}\n`);
  });

  before(async () => {
    db = await startDatabaseBackend(kind);
    vault = db.backend;
    pg = db.pg;
    await writePolicy(vault, 'tmpl-db', POLICY);
    creds = await setupAppRole(vault, { role: 'tmpl-db', policies: ['tmpl-db'] });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db?.close();
  });

  const role = (name: string, ttl: Record<string, unknown>): Promise<void> => db.role(name, ttl);

  /** Starts serve with one template for `roleName`; collects each distinct content of the file with when it was first seen. */
  async function renderRole(roleName: string): Promise<{ dir: string; out: string; shown: Shown[]; stop(): void }> {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-tmpl-db-'));
    const out = join(dir, 'db.txt');
    const { proc } = await startServe(dir, `vault { address = "${vault.serviceUrl}" }
${appRoleAutoAuth(dir, creds)}
template {
  contents = ${JSON.stringify(TEMPLATE.replace('ROLE', roleName))}
  destination = "${out}"
  command = "echo changed >> ${join(dir, 'ran.log')}"
}
`);
    procs.push(proc);
    const shown: Shown[] = [];
    let stopped = false;
    void (async () => {
      while (!stopped) {
        const text = readOr(out);
        if (text && shown[shown.length - 1]?.text !== text) shown.push({ text, seenAtMs: Date.now() });
        await sleep(20);
      }
    })();
    return { dir, out, shown, stop: () => { stopped = true; } };
  }

  async function leaseEndMs(leaseId: string, maxTtlSeconds: number): Promise<number> {
    const r = await vaultApi(vault, 'PUT', 'sys/leases/lookup', { lease_id: leaseId });
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    // The hardest end of the lease: its issue time plus the role's max TTL (renewals cannot pass it).
    return Date.parse(r.json.data.issue_time) + maxTtlSeconds * 1000;
  }

  it('a renewable lease: renewed, then new credentials rendered before the lease shown ends (max TTL); command once per change', async () => {
    // When renewal stops extending the lease, what is left is at least the lifetime watcher's grace
    // (10–20 % of the lease): with a 4 s lease that was 0.4 s, less than a loaded machine needed
    // to read and render new credentials (a CI run rendered them 5 ms late), as Vault Agent would.
    await role('tmpl-renew', { default_ttl: 10, max_ttl: 20 });
    const r = await renderRole('tmpl-renew');
    const first = await waitFor('the first render', () => r.shown[0], 20_000);
    const [leaseA, userA, passA] = first.text.split(' ');
    expect(leaseA).to.match(/^database\/creds\/tmpl-renew\//);
    const endA = await leaseEndMs(leaseA!, 20);
    if (pg) expect((await pg.canLogin(userA!, passA!)).ok).to.equal(true);
    const second = await waitFor('new credentials', () => r.shown[1], 30_000);
    r.stop();
    const [leaseB, userB, passB] = second.text.split(' ');
    expect(leaseB).to.not.equal(leaseA);
    expect(userB).to.not.equal(userA);
    process.stdout.write(`      [${kind}] new credentials rendered ${((endA - second.seenAtMs) / 1000).toFixed(1)} s before the old lease's end (lease 10 s, max 20 s)\n`);
    expect(second.seenAtMs).to.be.lessThan(endA);
    if (pg) expect((await pg.canLogin(userB!, passB!)).ok, 'the new credentials log in').to.equal(true);
    // Vault saw at least one renewal of the first lease before the new read.
    if (isSim(vault.kind)) expect(vault.requestsTo('/v1/sys/leases/renew').filter((q) => q.body.includes(leaseA!)).length).to.be.at.least(1);
    await sleep(300);
    expect(readOr(join(r.dir, 'ran.log')).split('\n').filter(Boolean).length).to.equal(r.shown.length);
  });

  simOnly(kind)('a non-renewable lease is read again at lease_renewal_threshold (0.9 ± 0.05) of it, before it ends', async () => {
    await role('tmpl-fixed', { default_ttl: 4, max_ttl: 4, renewable: false });
    const r = await renderRole('tmpl-fixed');
    const first = await waitFor('the first render', () => r.shown[0], 20_000);
    const endA = await leaseEndMs(first.text.split(' ')[0]!, 4);
    const second = await waitFor('new credentials', () => r.shown[1], 15_000);
    r.stop();
    expect(second.seenAtMs).to.be.lessThan(endA);
    // Not before 0.85 of the lease (a lease of 4 s: 3.4 s after issue), less what the first render took.
    expect(second.seenAtMs - first.seenAtMs).to.be.at.least(3_000);
    expect(vault.requestsTo('/v1/sys/leases/renew').filter((q) => q.body.includes('tmpl-fixed'))).to.have.length(0);
  });
});
