// The cert auth method (builtin/credential/cert): config, trusted certificates ("roles", certs/),
// and login, which verifies the certificate the client presented on the TLS listener
// (`VaultSim.listenTls`) as Vault's verifyCredentials does: chains to the CA certificates of the
// roles considered (the named one, else all), or the exact non-CA certificate of a role, then
// the role's name constraints (allowed_names, allowed_common_names, allowed_dns_sans,
// allowed_email_sans, allowed_uri_sans, allowed_organizational_units).
//
// A renewal of a cert token checks the renewing connection as Vault's pathLoginRenew does (unless
// config disable_binding): it must present a certificate that verifies against the token's role,
// with the login certificate's subject or authority key id.
//
// Not simulated: CRLs (crls/), OCSP, required_extensions and allowed_metadata_extensions (stored
// and read back; a role with required_extensions never matches), token_bound_cidrs.
import { X509Certificate } from 'node:crypto';
import { boolField, hasField, intField, stringField, stringListField } from './fields.js';
import { backendOf } from './router.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, type TokenParams } from './token-util.js';
import { fail, failWrapped, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface CertRole {
  readonly name: string;
  certificate: string;
  displayName: string;
  // Lists never written are Go's nil slices: null when read back.
  allowedNames: string[] | null;
  allowedCommonNames: string[] | null;
  allowedDnsSans: string[] | null;
  allowedEmailSans: string[] | null;
  allowedUriSans: string[] | null;
  allowedOrganizationalUnits: string[] | null;
  requiredExtensions: string[] | null;
  allowedMetadataExtensions: string[] | null;
  ocspCaCertificates: string;
  ocspEnabled: boolean;
  ocspServersOverride: string[] | null;
  ocspFailOpen: boolean;
  ocspQueryAllServers: boolean;
  token: TokenParams;
}

interface CertConfig {
  disableBinding: boolean;
  enableIdentityAliasMetadata: boolean;
  ocspCacheSize: number;
  roleCacheSize: number;
}

/** parsePEM: CERTIFICATE / TRUSTED CERTIFICATE blocks without headers; unparsable ones skipped. */
function parsePem(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  const re = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const type = m[1]!;
    const body = m[2]!;
    if ((type !== 'CERTIFICATE' && type !== 'TRUSTED CERTIFICATE') || /^[A-Za-z-]+:/m.test(body)) continue;
    try {
      out.push(new X509Certificate(Buffer.from(body.replace(/\s+/g, ''), 'base64')));
    } catch {
      // not a certificate: skipped, as Go's parsePEM does
    }
  }
  return out;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** ryanuber/go-glob: `*` matches any run of characters, nothing else is special. */
function glob(pattern: string, subject: string): boolean {
  if (pattern === '') return subject === pattern;
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return subject === pattern;
  const leadingGlob = pattern.startsWith('*');
  const trailingGlob = pattern.endsWith('*');
  const end = parts.length - 1;
  let rest = subject;
  for (let i = 0; i < end; i++) {
    const idx = rest.indexOf(parts[i]!);
    if (i === 0) {
      if (!leadingGlob && idx !== 0) return false;
    } else if (idx < 0) {
      return false;
    }
    rest = rest.slice(idx + parts[i]!.length);
  }
  return trailingGlob || rest.endsWith(parts[end]!);
}

function subjectValues(cert: X509Certificate, key: string): string[] {
  return cert.subject.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

function sans(cert: X509Certificate, kind: 'DNS' | 'email' | 'URI'): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith(`${kind}:`)).map((s) => s.slice(kind.length + 1));
}

/** The key identifier of the SubjectKeyIdentifier (2.5.29.14) or AuthorityKeyIdentifier (2.5.29.35) extension, if any. */
function keyId(cert: X509Certificate, oidLastByte: 0x0e | 0x23): Buffer {
  const der = cert.raw;
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, oidLastByte]);
  const at = der.indexOf(oid);
  if (at < 0) return Buffer.alloc(0);
  let i = at + oid.length;
  if (der[i] === 0x01) i += 3; // critical BOOLEAN
  const readLen = (): number => {
    const first = der[i++]!;
    if (first < 0x80) return first;
    let n = 0;
    for (let k = 0; k < (first & 0x7f); k++) n = (n << 8) | der[i++]!;
    return n;
  };
  if (der[i++] !== 0x04) return Buffer.alloc(0); // extnValue OCTET STRING
  readLen();
  if (oidLastByte === 0x0e) {
    if (der[i++] !== 0x04) return Buffer.alloc(0);
    const n = readLen();
    return der.subarray(i, i + n);
  }
  if (der[i++] !== 0x30) return Buffer.alloc(0); // AuthorityKeyIdentifier SEQUENCE
  readLen();
  if (der[i++] !== 0x80) return Buffer.alloc(0); // [0] keyIdentifier
  const n = readLen();
  return der.subarray(i, i + n);
}

/** certutil.GetHexFormatted(buf, ":"). */
function hexColons(buf: Buffer): string {
  return [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

type Chains = { chains: X509Certificate[][] } | { error: string };

/** validateConnState: chains from the leaf through the presented intermediates to a root; unknown authority → none. */
function verifyChains(leaf: X509Certificate, intermediates: X509Certificate[], roots: X509Certificate[], nowMs: number): Chains {
  const eku = leaf.keyUsage;
  if (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) {
    return { error: "failed to verify client's certificate: x509: certificate specifies an incompatible key usage" };
  }
  const chains: X509Certificate[][] = [];
  const extend = (chain: X509Certificate[]): void => {
    const last = chain[chain.length - 1]!;
    if (roots.some((r) => r.raw.equals(last.raw))) {
      chains.push(chain);
      return;
    }
    for (const r of roots) if (issuedBy(last, r)) chains.push([...chain, r]);
    for (const c of intermediates) {
      if (chain.some((x) => x.raw.equals(c.raw)) || !issuedBy(last, c)) continue;
      extend([...chain, c]);
    }
  };
  extend([leaf]);
  for (const chain of chains) {
    for (const c of chain) {
      if (nowMs < Date.parse(c.validFrom) || nowMs > Date.parse(c.validTo)) {
        return { error: `failed to verify client's certificate: x509: certificate has expired or is not yet valid: current time ${new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z')} is after ${new Date(c.validTo).toISOString().replace(/\.\d+Z$/, 'Z')}` };
      }
    }
  }
  return { chains };
}

function matchesConstraints(cert: X509Certificate, role: CertRole): boolean {
  const cn = subjectValues(cert, 'CN')[0] ?? '';
  const dns = sans(cert, 'DNS');
  const emails = sans(cert, 'email');
  const any = (patterns: string[] | null, values: string[]): boolean => !patterns || patterns.length === 0 || patterns.some((p) => values.some((v) => glob(p, v)));
  return any(role.allowedNames, [cn, ...dns, ...emails])
    && any(role.allowedCommonNames, [cn])
    && any(role.allowedDnsSans, dns)
    && any(role.allowedEmailSans, emails)
    && any(role.allowedUriSans, sans(cert, 'URI'))
    && any(role.allowedOrganizationalUnits, subjectValues(cert, 'OU'))
    && (role.requiredExtensions ?? []).length === 0;
}

function roleData(r: CertRole): Record<string, unknown> {
  return {
    certificate: r.certificate, display_name: r.displayName, allowed_names: r.allowedNames,
    allowed_common_names: r.allowedCommonNames, allowed_dns_sans: r.allowedDnsSans, allowed_email_sans: r.allowedEmailSans,
    allowed_uri_sans: r.allowedUriSans, allowed_organizational_units: r.allowedOrganizationalUnits,
    required_extensions: r.requiredExtensions, allowed_metadata_extensions: r.allowedMetadataExtensions,
    ocsp_ca_certificates: r.ocspCaCertificates, ocsp_enabled: r.ocspEnabled, ocsp_servers_override: r.ocspServersOverride,
    ocsp_fail_open: r.ocspFailOpen, ocsp_query_all_servers: r.ocspQueryAllServers, ...populateTokenData(r.token),
  };
}

export function certAuthBackend(now: () => number): Backend {
  const roles = new Map<string, CertRole>();
  const config: CertConfig = { disableBinding: false, enableIdentityAliasMetadata: false, ocspCacheSize: 0, roleCacheSize: 0 };
  const nameOf = (call: Call): string => (call.params['name'] ?? '').toLowerCase();

  const writeRole = (call: Call): Outcome => {
    const name = nameOf(call);
    const d = call.req.data;
    const existing = roles.get(name);
    const role: CertRole = existing ? { ...existing, token: { ...existing.token } } : {
      name, certificate: '', displayName: '', allowedNames: null, allowedCommonNames: null, allowedDnsSans: null, allowedEmailSans: null,
      allowedUriSans: null, allowedOrganizationalUnits: null, requiredExtensions: null, allowedMetadataExtensions: null,
      ocspCaCertificates: '', ocspEnabled: false, ocspServersOverride: null, ocspFailOpen: false, ocspQueryAllServers: false,
      token: defaultTokenParams(),
    };
    if (hasField(d, 'certificate')) role.certificate = stringField(d, 'certificate');
    if (hasField(d, 'ocsp_ca_certificates')) role.ocspCaCertificates = stringField(d, 'ocsp_ca_certificates');
    if (hasField(d, 'ocsp_enabled')) role.ocspEnabled = boolField(d, 'ocsp_enabled', false);
    if (hasField(d, 'ocsp_servers_override')) role.ocspServersOverride = stringListField(d, 'ocsp_servers_override');
    if (hasField(d, 'ocsp_fail_open')) role.ocspFailOpen = boolField(d, 'ocsp_fail_open', false);
    if (hasField(d, 'ocsp_query_all_servers')) role.ocspQueryAllServers = boolField(d, 'ocsp_query_all_servers', false);
    if (hasField(d, 'display_name')) role.displayName = stringField(d, 'display_name');
    const lists: Array<[string, keyof CertRole]> = [
      ['allowed_names', 'allowedNames'], ['allowed_common_names', 'allowedCommonNames'], ['allowed_dns_sans', 'allowedDnsSans'],
      ['allowed_email_sans', 'allowedEmailSans'], ['allowed_uri_sans', 'allowedUriSans'],
      ['allowed_organizational_units', 'allowedOrganizationalUnits'], ['required_extensions', 'requiredExtensions'],
      ['allowed_metadata_extensions', 'allowedMetadataExtensions'],
    ];
    for (const [field, key] of lists) if (hasField(d, field)) (role as unknown as Record<string, unknown>)[key] = stringListField(d, field);
    if (!hasField(d, 'token_ttl') && !hasField(d, 'ttl') && hasField(d, 'lease')) role.token.tokenTtlSeconds = intField(d, 'lease', 0);
    const problem = parseTokenFields(role.token, d, ['policies', 'ttl', 'max_ttl', 'period', 'bound_cidrs']);
    if (problem) return fail(400, problem);
    if (role.token.tokenMaxTtlSeconds !== 0 && role.token.tokenTtlSeconds > role.token.tokenMaxTtlSeconds) return fail(400, 'ttl should be shorter than max_ttl');
    if (role.displayName === '') role.displayName = name;
    const parsed = parsePem(role.certificate);
    if (parsed.length === 0) return fail(400, 'failed to parse certificate');
    const first = parsed[0]!;
    const eku = first.keyUsage;
    if (!first.ca && eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) {
      return fail(400, 'nonCA certificates should have TLS client authentication set as an extended key usage');
    }
    roles.set(name, role);
    return nothing();
  };

  /** verifyCredentials: the matched role and the presented leaf, or Vault's refusal. */
  const verifyCredentials = (peers: readonly Buffer[] | undefined, certName: string): { role: CertRole; leaf: X509Certificate } | { refusal: Outcome } => {
    const refuse = (message: string): { refusal: Outcome } => ({ refusal: fail(400, message) });
    if (peers === undefined) return refuse('tls connection required');
    if (peers.length === 0) return refuse('client certificate must be supplied');
    const presented = peers.map((der) => new X509Certificate(der));
    const leaf = presented[0]!;
    const considered = certName !== ''
      ? [roles.get(certName.toLowerCase())].filter((r): r is CertRole => r !== undefined)
      : [...roles.keys()].sort().map((k) => roles.get(k)!);
    const trusted: Array<{ role: CertRole; certs: X509Certificate[] }> = [];
    const trustedNonCas: Array<{ role: CertRole; certs: X509Certificate[] }> = [];
    for (const role of considered) {
      const certs = [...parsePem(role.certificate), ...parsePem(role.ocspCaCertificates)];
      if (certs.length === 0) continue;
      (certs[0]!.ca ? trusted : trustedNonCas).push({ role, certs });
    }
    const verified = verifyChains(leaf, presented.slice(1), trusted.flatMap((t) => t.certs), now());
    if ('error' in verified) return { refusal: failWrapped(500, verified.error) };
    let matched: CertRole | undefined;
    for (const t of trustedNonCas) {
      const c = t.certs[0]!;
      if (c.serialNumber !== leaf.serialNumber || !keyId(c, 0x23).equals(keyId(leaf, 0x23))) continue;
      if (!c.publicKey.export({ type: 'spki', format: 'der' }).equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))) {
        return refuse('public key mismatch of a trusted leaf certificate');
      }
      if (matchesConstraints(leaf, t.role)) {
        matched = t.role;
        break;
      }
    }
    if (!matched) {
      if (verified.chains.length === 0) return refuse('invalid certificate or no client certificate supplied; additionally got errors during verification: <nil>');
      search: for (const t of trusted) {
        for (const c of t.certs) {
          for (const chain of verified.chains) {
            if (chain.some((x) => x.raw.equals(c.raw)) && matchesConstraints(leaf, t.role)) {
              matched = t.role;
              break search;
            }
          }
        }
      }
    }
    if (!matched) return refuse('no chain matching all constraints could be found for this login certificate');
    return { role: matched, leaf };
  };

  const login = (call: Call): Outcome => {
    const verified = verifyCredentials(call.req.tlsPeerCertificates, stringField(call.req.data, 'name'));
    if ('refusal' in verified) return verified.refusal;
    const { role, leaf } = verified;
    const skid = keyId(leaf, 0x0e);
    const akid = keyId(leaf, 0x23);
    const commonName = subjectValues(leaf, 'CN')[0] ?? '';
    const policiesAtLogin = [...role.token.tokenPolicies].sort().join(',');
    return issueLoginToken(call, call.mount, role.token, {
      displayName: role.displayName,
      metadata: {
        authority_key_id: hexColons(akid),
        cert_name: role.name,
        common_name: commonName,
        serial_number: BigInt(`0x${leaf.serialNumber}`).toString(),
        subject_key_id: hexColons(skid),
      },
      aliasName: commonName,
      renewFrom: (req) => {
        if (!config.disableBinding) {
          const again = verifyCredentials(req?.tlsPeerCertificates, role.name);
          if ('refusal' in again) {
            const r = again.refusal;
            return r.kind === 'error' && r.status === 400 && r.message !== null ? { refused: r.message } : "client identity during renewal not matching client identity used during login";
          }
          if (!keyId(again.leaf, 0x0e).equals(skid) && !keyId(again.leaf, 0x23).equals(akid)) {
            return 'client identity during renewal not matching client identity used during login';
          }
        }
        const current = roles.get(role.name);
        if (!current) return `role "${role.name}" does not exist during renewal`;
        if ([...current.token.tokenPolicies].sort().join(',') !== policiesAtLogin) return 'policies have changed, not renewing';
        return { ttlSeconds: current.token.tokenTtlSeconds, maxTtlSeconds: current.token.tokenMaxTtlSeconds, periodSeconds: current.token.tokenPeriodSeconds };
      },
    });
  };

  return backendOf([
    {
      pattern: 'config',
      ops: {
        read: () => respond({ data: {
          disable_binding: config.disableBinding, enable_identity_alias_metadata: config.enableIdentityAliasMetadata,
          ocsp_cache_size: config.ocspCacheSize, role_cache_size: config.roleCacheSize,
        } }),
        update: (call) => {
          const d = call.req.data;
          if (hasField(d, 'disable_binding')) config.disableBinding = boolField(d, 'disable_binding', false);
          if (hasField(d, 'enable_identity_alias_metadata')) config.enableIdentityAliasMetadata = boolField(d, 'enable_identity_alias_metadata', false);
          if (hasField(d, 'ocsp_cache_size')) {
            const n = intField(d, 'ocsp_cache_size', 100);
            if (n < 2 || n > 100000) return fail(400, 'invalid ocsp cache size, must be >= 2 and <= 100000');
            config.ocspCacheSize = n;
          }
          if (hasField(d, 'role_cache_size')) {
            const n = intField(d, 'role_cache_size', 200);
            if ((n < 0 && n !== -1) || n > 100000) return fail(400, 'invalid role cache size, must be <= 100000 or -1 to disable role caching');
            config.roleCacheSize = n;
          }
          return nothing();
        },
      },
    },
    { pattern: 'login', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'certs/', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'certs/:name',
      ops: {
        read: (call) => { const r = roles.get(nameOf(call)); return r ? respond({ data: roleData(r) }) : nothing(); },
        update: writeRole,
        delete: (call) => { roles.delete(nameOf(call)); return nothing(); },
      },
    },
  ]);
}
