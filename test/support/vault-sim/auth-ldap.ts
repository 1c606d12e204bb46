// The ldap auth method (builtin/credential/ldap with sdk/helper/ldaputil): config, local users and
// groups, and login, which binds to the configured LDAP server for real. The binds and searches
// go through OpenLDAP's command-line client (ldap-utils: ldapwhoami, ldapsearch), which the
// tests need anyway for slapd; passwords reach it in a 0600 temp file, never on a command line.
//
// The user's LDAP groups come from a search under groupdn with groupfilter (its {{.UserDN}} and
// {{.Username}} filled in, escaped), named by groupattr's values or the entry's CN, as
// ldaputil.GetLdapGroups does; their policies come from the mount's groups/ entries.
//
// Not simulated: use_token_groups, paging (max_page_size), upndomain's userPrincipalName search,
// TLS to the LDAP server (ldaps://, starttls), the entity alias read from the LDAP entry (the alias
// is the username), and the renewal's re-bind (a renewal checks only that the policies did not
// change).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boolField, durationField, hasField, intField, sanitizePolicies, stringField, stringListField } from './fields.js';
import { backendOf } from './router.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, type TokenParams } from './token-util.js';
import { fail, multiError, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

const BIND_FAILED = 'ldap operation failed: failed to bind as user';
const DEFAULT_GROUP_FILTER = '(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))';
const DEFAULT_USER_FILTER = '({{.UserAttr}}={{.Username}})';

interface LdapConfig {
  url: string;
  userdn: string;
  binddn: string;
  bindpass: string;
  groupdn: string;
  groupfilter: string;
  groupattr: string;
  userfilter: string;
  upndomain: string;
  userattr: string;
  certificate: string;
  insecureTls: boolean;
  starttls: boolean;
  discoverdn: boolean;
  denyNullBind: boolean;
  caseSensitiveNames: boolean;
  usernameAsAlias: boolean;
  anonymousGroupSearch: boolean;
  useTokenGroups: boolean;
  requestTimeout: number;
  connectionTimeout: number;
  derefAliases: string;
  maxPageSize: number;
  token: TokenParams;
}

function defaultConfig(): LdapConfig {
  return {
    url: 'ldap://127.0.0.1', userdn: '', binddn: '', bindpass: '', groupdn: '', groupfilter: DEFAULT_GROUP_FILTER,
    groupattr: 'cn', userfilter: DEFAULT_USER_FILTER, upndomain: '', userattr: 'cn', certificate: '', insecureTls: false,
    starttls: false, discoverdn: false, denyNullBind: true, caseSensitiveNames: false, usernameAsAlias: false,
    anonymousGroupSearch: false, useTokenGroups: false, requestTimeout: 90, connectionTimeout: 30, derefAliases: 'never',
    maxPageSize: 0, token: defaultTokenParams(),
  };
}

function configData(c: LdapConfig): Record<string, unknown> {
  return {
    anonymous_group_search: c.anonymousGroupSearch, binddn: c.binddn, case_sensitive_names: c.caseSensitiveNames,
    certificate: c.certificate, connection_timeout: c.connectionTimeout, deny_null_bind: c.denyNullBind,
    dereference_aliases: c.derefAliases, discoverdn: c.discoverdn, groupattr: c.groupattr, groupdn: c.groupdn,
    groupfilter: c.groupfilter, insecure_tls: c.insecureTls, max_page_size: c.maxPageSize, request_timeout: c.requestTimeout,
    starttls: c.starttls, tls_max_version: 'tls12', tls_min_version: 'tls12', upndomain: c.upndomain, url: c.url,
    use_pre111_group_cn_behavior: false, use_token_groups: c.useTokenGroups, userattr: c.userattr, userdn: c.userdn,
    userfilter: c.userfilter, username_as_alias: c.usernameAsAlias, ...populateTokenData(c.token),
  };
}

function applyConfig(c: LdapConfig, d: Record<string, unknown>): string | undefined {
  const str = (key: string, set: (v: string) => void): void => { if (hasField(d, key)) set(stringField(d, key)); };
  str('url', (v) => { c.url = v.toLowerCase(); });
  str('userdn', (v) => { c.userdn = v; });
  str('binddn', (v) => { c.binddn = v; });
  str('bindpass', (v) => { c.bindpass = v; });
  str('groupdn', (v) => { c.groupdn = v; });
  str('groupfilter', (v) => { c.groupfilter = v || DEFAULT_GROUP_FILTER; });
  str('groupattr', (v) => { c.groupattr = v || 'cn'; });
  str('userfilter', (v) => { c.userfilter = v || DEFAULT_USER_FILTER; });
  str('upndomain', (v) => { c.upndomain = v; });
  str('userattr', (v) => { c.userattr = (v || 'cn').toLowerCase(); });
  str('certificate', (v) => { c.certificate = v; });
  str('dereference_aliases', (v) => { c.derefAliases = v; });
  if (hasField(d, 'insecure_tls')) c.insecureTls = boolField(d, 'insecure_tls', false);
  if (hasField(d, 'starttls')) c.starttls = boolField(d, 'starttls', false);
  if (hasField(d, 'discoverdn')) c.discoverdn = boolField(d, 'discoverdn', false);
  if (hasField(d, 'deny_null_bind')) c.denyNullBind = boolField(d, 'deny_null_bind', true);
  if (hasField(d, 'case_sensitive_names')) c.caseSensitiveNames = boolField(d, 'case_sensitive_names', false);
  if (hasField(d, 'username_as_alias')) c.usernameAsAlias = boolField(d, 'username_as_alias', false);
  if (hasField(d, 'anonymous_group_search')) c.anonymousGroupSearch = boolField(d, 'anonymous_group_search', false);
  if (hasField(d, 'use_token_groups')) c.useTokenGroups = boolField(d, 'use_token_groups', false);
  if (hasField(d, 'request_timeout')) c.requestTimeout = durationField(d, 'request_timeout');
  if (hasField(d, 'connection_timeout')) c.connectionTimeout = durationField(d, 'connection_timeout');
  if (hasField(d, 'max_page_size')) c.maxPageSize = intField(d, 'max_page_size', 0);
  // The ldap config takes no pre-1.4 names (path_config.go calls ParseTokenFields alone).
  return parseTokenFields(c.token, d);
}

/** ldap.EscapeFilter. */
function escapeFilter(s: string): string {
  return s.replace(/[\\*()\0]/g, (ch) => `\\${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** ldaputil.EscapeLDAPValue (RFC 4514). */
function escapeDnValue(s: string): string {
  let out = s.replace(/[\\,+"<>;=]/g, (ch) => `\\${ch}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** An LDAP tool's outcome: its exit code (0 ok, 49 invalid credentials, 255 no server) and output. */
interface ToolResult { code: number; stdout: string; stderr: string }

async function ldapTool(tool: 'ldapwhoami' | 'ldapsearch', url: string, bind: { dn: string; password: string } | undefined, extra: string[]): Promise<ToolResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vault-sim-ldap-'));
  try {
    const args = ['-x', '-H', url, '-o', 'nettimeout=5'];
    if (bind) {
      const pwFile = join(dir, 'pw');
      writeFileSync(pwFile, bind.password, { mode: 0o600 });
      args.push('-D', bind.dn, '-y', pwFile);
    }
    return await new Promise<ToolResult>((resolve) => {
      execFile(tool, [...args, ...extra], { timeout: 15_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 255) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Vault's DialLDAP error text for a server that cannot be reached. */
function dialError(url: string): string {
  const u = /^ldaps?:\/\/([^/]*)/.exec(url);
  const hostPort = u?.[1] ?? '';
  const full = hostPort.includes(':') ? url : `${url.replace(/\/+$/, '')}:${url.startsWith('ldaps') ? 636 : 389}`;
  return multiError([`error connecting to host "${url}": LDAP Result Code 200 "Network Error": dial tcp ${full.replace(/^ldaps?:\/\//, '')}: connect: connection refused`]);
}

/** ldapsearch -LLL output: each entry's DN and attributes (names lower-cased, base64 values decoded). */
function parseLdif(text: string): Array<{ dn: string; attrs: Map<string, string[]> }> {
  const entries: Array<{ dn: string; attrs: Map<string, string[]> }> = [];
  for (const block of text.split(/\n\s*\n/)) {
    let dn: string | undefined;
    const attrs = new Map<string, string[]>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z0-9;.-]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === '::' ? Buffer.from(m[3]!, 'base64').toString('utf8') : m[3]!;
      const name = m[1]!.toLowerCase();
      if (name === 'dn') dn = value;
      else attrs.set(name, [...(attrs.get(name) ?? []), value]);
    }
    if (dn !== undefined) entries.push({ dn, attrs });
  }
  return entries;
}

/** getCN: the first CN of a DN (any case, as with use_pre111_group_cn_behavior = false), else the value itself. */
function cnOf(value: string): string {
  for (const rdn of value.split(/(?<!\\),/)) {
    const m = /^\s*cn\s*=\s*(.*)$/i.exec(rdn);
    if (m) return m[1]!.replace(/\\(.)/g, '$1');
  }
  return value;
}

interface LocalUser { groups: string[]; policies: string[] }
interface LocalGroup { policies: string[] }

export function ldapAuthBackend(_now: () => number): Backend {
  let config: LdapConfig | undefined;
  const users = new Map<string, LocalUser>();
  const groups = new Map<string, LocalGroup>();
  const current = (): LdapConfig => config ?? defaultConfig();
  const keyOf = (name: string): string => (current().caseSensitiveNames ? name : name.toLowerCase());

  const writeConfig = (call: Call): Outcome => {
    const next: LdapConfig = config ? { ...config, token: { ...config.token } } : defaultConfig();
    const problem = applyConfig(next, call.req.data);
    if (problem) return fail(400, problem);
    if (!/^ldaps?:\/\//.test(next.url.split(',')[0] ?? '')) return fail(400, `invalid LDAP scheme in url "${next.url}"`);
    config = next;
    return nothing();
  };

  /** The policies of the local user, its local groups and its LDAP groups; Vault's Login after the binds. */
  const localPolicies = (username: string, ldapGroups: readonly string[] = []): { policies: string[] } => {
    const user = users.get(keyOf(username));
    const groupNames = [...(user?.groups ?? []), ...ldapGroups];
    const policies: string[] = [];
    for (const g of groupNames) policies.push(...(groups.get(keyOf(g))?.policies ?? []));
    policies.push(...(user?.policies ?? []));
    return { policies: [...new Set(policies)] };
  };

  const login = async (call: Call): Promise<Outcome> => {
    const cfg = current();
    const username = call.params['username'] ?? '';
    const password = stringField(call.req.data, 'password');
    if (cfg.denyNullBind && password.length === 0) return fail(400, 'password cannot be of zero length when passwordless binds are being denied');
    const url = cfg.url.split(',')[0]!;
    // GetUserBindDN: a search (discoverdn, or binddn + bindpass), else userattr=<name>,userdn.
    let userBindDn: string;
    if (cfg.discoverdn || (cfg.binddn !== '' && cfg.bindpass !== '')) {
      const filter = cfg.userfilter.replace(/\{\{\s*\.UserAttr\s*\}\}/g, cfg.userattr).replace(/\{\{\s*\.Username\s*\}\}/g, escapeFilter(username));
      const found = await ldapTool('ldapsearch', url, cfg.binddn !== '' ? { dn: cfg.binddn, password: cfg.bindpass } : undefined,
        ['-LLL', '-o', 'ldif-wrap=no', '-b', cfg.userdn, '-s', 'sub', filter, '1.1']);
      if (found.code === 255) return fail(400, dialError(url));
      const dns = found.stdout.split('\n').filter((l) => l.startsWith('dn:'));
      if (found.code !== 0 || dns.length !== 1) return fail(400, BIND_FAILED);
      const line = dns[0]!;
      userBindDn = line.startsWith('dn::') ? Buffer.from(line.slice(4).trim(), 'base64').toString('utf8') : line.slice(3).trim();
    } else if (cfg.upndomain !== '') {
      userBindDn = `${escapeDnValue(username)}@${cfg.upndomain}`;
    } else {
      userBindDn = `${cfg.userattr}=${escapeDnValue(username)},${cfg.userdn}`;
    }
    const bound = await ldapTool('ldapwhoami', url, { dn: userBindDn, password }, []);
    if (bound.code === 255) return fail(400, dialError(url));
    if (bound.code !== 0) return fail(400, BIND_FAILED);
    if (cfg.binddn !== '' && cfg.bindpass !== '') {
      const rebound = await ldapTool('ldapwhoami', url, { dn: cfg.binddn, password: cfg.bindpass }, []);
      if (rebound.code !== 0) return fail(400, 'ldap operation failed: failed to re-bind with the BindDN user');
    }
    // GetLdapGroups, on the connection as it is bound now (binddn after the re-bind, else the user).
    const searchAs = cfg.anonymousGroupSearch ? undefined : cfg.binddn !== '' && cfg.bindpass !== '' ? { dn: cfg.binddn, password: cfg.bindpass } : { dn: userBindDn, password };
    const ldapGroups = new Set<string>();
    if (cfg.groupfilter !== '' && cfg.groupdn !== '') {
      const filter = cfg.groupfilter.replace(/\{\{\s*\.UserDN\s*\}\}/g, escapeFilter(userBindDn)).replace(/\{\{\s*\.Username\s*\}\}/g, escapeFilter(username));
      const found = await ldapTool('ldapsearch', url, searchAs, ['-LLL', '-o', 'ldif-wrap=no', '-b', cfg.groupdn, '-s', 'sub', filter, cfg.groupattr]);
      if (found.code !== 0) return fail(400, `LDAP search failed: ${found.stderr.trim()}`);
      for (const entry of parseLdif(found.stdout)) {
        const values = entry.attrs.get(cfg.groupattr.toLowerCase()) ?? [];
        for (const v of values.length > 0 ? values : [entry.dn]) ldapGroups.add(cnOf(v));
      }
    }
    const { policies } = localPolicies(username, [...ldapGroups]);
    const tokenPoliciesAtLogin = sanitizePolicies([...cfg.token.tokenPolicies, ...policies], false);
    return issueLoginToken(call, call.mount, cfg.token, {
      extraPolicies: policies,
      path: `${call.mount.routePrefix}login/${username}`,
      displayName: username,
      metadata: { username },
      aliasName: username,
      data: {},
      ...(ldapGroups.size === 0 ? { warnings: [`no LDAP groups found in groupDN "${cfg.groupdn}"; only policies from locally-defined groups available`] } : {}),
      renewFrom: () => {
        const now = current();
        const again = sanitizePolicies([...now.token.tokenPolicies, ...localPolicies(username, [...ldapGroups]).policies], false);
        if (again.join(',') !== tokenPoliciesAtLogin.join(',')) return 'policies have changed, not renewing';
        return { ttlSeconds: now.token.tokenTtlSeconds, maxTtlSeconds: now.token.tokenMaxTtlSeconds, periodSeconds: now.token.tokenPeriodSeconds };
      },
    });
  };

  const nameOf = (call: Call): string => keyOf(call.params['name'] ?? '');

  return backendOf([
    { pattern: 'config', ops: { read: () => respond({ data: configData(current()) }), update: writeConfig } },
    { pattern: 'login/*username', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'users/', ops: { list: () => respond({ data: { keys: [...users.keys()].sort() } }) } },
    {
      pattern: 'users/*name',
      ops: {
        read: (call) => {
          const u = users.get(nameOf(call));
          return u ? respond({ data: { groups: u.groups.join(','), policies: u.policies } }) : nothing();
        },
        update: (call) => {
          const d = call.req.data;
          const lower = !current().caseSensitiveNames;
          const groupList = [...new Set(stringListField(d, 'groups').map((g) => (lower ? g.toLowerCase() : g)))];
          users.set(nameOf(call), { groups: groupList, policies: sanitizePolicies(stringListField(d, 'policies'), false) });
          return nothing();
        },
        delete: (call) => { users.delete(nameOf(call)); return nothing(); },
      },
    },
    { pattern: 'groups/', ops: { list: () => respond({ data: { keys: [...groups.keys()].sort() } }) } },
    {
      pattern: 'groups/*name',
      ops: {
        read: (call) => {
          const g = groups.get(nameOf(call));
          return g ? respond({ data: { policies: g.policies } }) : nothing();
        },
        update: (call) => {
          groups.set(nameOf(call), { policies: sanitizePolicies(stringListField(call.req.data, 'policies'), false) });
          return nothing();
        },
        delete: (call) => { groups.delete(nameOf(call)); return nothing(); },
      },
    },
  ]);
}
