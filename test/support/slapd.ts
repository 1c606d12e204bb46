// Debian's OpenLDAP server (slapd) for the ldap auth tests: a throwaway directory on a free
// loopback port, its database in a temp dir, loaded with slapadd before it starts.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.js';
import { Proc, run } from './process.js';

const execFileP = promisify(execFile);

export const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

export interface LdapUser {
  uid: string;
  password: string;
}

export interface LdapGroup {
  cn: string;
  /** uids of the members (groupOfNames `member` DNs). */
  members: string[];
}

export interface Slapd {
  /** ldap://127.0.0.1:<port> */
  readonly url: string;
  readonly baseDn: string;
  /** Where the users are: ou=people,<baseDn> (Vault's `userdn`). */
  readonly peopleDn: string;
  /** Where the groups are: ou=groups,<baseDn> (Vault's `groupdn`). */
  readonly groupsDn: string;
  /** A read-only service account for Vault's `binddn`/`bindpass` searches. */
  readonly bindDn: string;
  readonly bindPassword: string;
  userDn(uid: string): string;
  /** Changes a user's password (as the directory's admin). */
  setPassword(uid: string, password: string): Promise<void>;
  /** slapd's own output, for failure reports. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts slapd with `users` under ou=people (objectClass inetOrgPerson, uid + userPassword) and
 * `groups` under ou=groups (groupOfNames whose `member`s are the users' DNs).
 */
export async function startSlapd(users: LdapUser[], groups: LdapGroup[] = []): Promise<Slapd> {
  for (const [tool, path] of [['slapd', SLAPD], ['slapadd', SLAPADD]] as const) {
    if (!existsSync(path)) throw new Error(`${tool} (${path}) is not installed: apt-get install slapd ldap-utils (.ci/run installs them)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vxp-slapd-'));
  const baseDn = 'dc=vxp,dc=test';
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = 'admin-secret';
  const peopleDn = `ou=people,${baseDn}`;
  const groupsDn = `ou=groups,${baseDn}`;
  const bindDn = `cn=vault,${baseDn}`;
  const bindPassword = 'vault-bind-secret';
  const userDn = (uid: string): string => `uid=${uid},${peopleDn}`;
  mkdirSync(join(dir, 'db'));
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'include /etc/ldap/schema/nis.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(dir, 'slapd.pid')}`,
    'database mdb',
    'maxsize 16777216',
    `suffix "${baseDn}"`,
    `rootdn "${adminDn}"`,
    `rootpw ${adminPassword}`,
    `directory ${join(dir, 'db')}`,
    // Users may bind; anyone bound may read (Vault's searches), nobody reads passwords.
    'access to attrs=userPassword by anonymous auth by self write by * none',
    'access to * by users read by anonymous auth',
    '',
  ].join('\n'));
  const ldif = [
    `dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\no: vxp\ndc: vxp\n`,
    `dn: ${peopleDn}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${bindDn}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: vault\nsn: vault\nuserPassword: ${bindPassword}\n`,
    ...users.map((u) => `dn: ${userDn(u.uid)}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\nsn: ${u.uid}\nuserPassword: ${u.password}\n`),
    `dn: ${groupsDn}\nobjectClass: organizationalUnit\nou: groups\n`,
    ...groups.map((g) => `dn: cn=${g.cn},${groupsDn}\nobjectClass: groupOfNames\ncn: ${g.cn}\n${g.members.map((m) => `member: ${userDn(m)}\n`).join('')}`),
  ].join('\n');
  writeFileSync(join(dir, 'data.ldif'), ldif);
  const loaded = await run(SLAPADD, ['-f', conf, '-l', join(dir, 'data.ldif')]);
  if (loaded.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed (${loaded.code}): ${loaded.stderr}`);
  }
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (no fork), logging nothing but errors.
  const proc = new Proc('slapd', SLAPD, ['-f', conf, '-h', `${url}/`, '-d', '0']);
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('slapd answering', async () => {
      const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`slapd exited with ${code}:\n${proc.text}`);
      const who = await execFileP('ldapwhoami', ['-x', '-H', url, '-D', bindDn, '-w', bindPassword]).then(() => true, () => undefined);
      return who;
    }, 15_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url, baseDn, peopleDn, groupsDn, bindDn, bindPassword, userDn,
    setPassword: async (uid, password) => {
      const file = join(dir, `modify-${uid}.ldif`);
      writeFileSync(file, `dn: ${userDn(uid)}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${password}\n`);
      await execFileP('ldapmodify', ['-x', '-H', url, '-D', adminDn, '-w', adminPassword, '-f', file]);
      rmSync(file);
    },
    logs: () => `--- slapd ---\n${proc.text}`,
    stop,
  };
}
