// sys/leases/* and the legacy sys/renew, sys/revoke* aliases (vault/logical_system.go handleRenew,
// handleRevoke, handleRevokePrefixCommon, handleLeaseLookup, handleLeaseLookupList).
import { boolField, durationField, stringField } from './fields.js';
import { fail, failWrapped, multiError, nothing, raw, respond, type Call, type Outcome, type Route } from './types.js';

const LEASE_ID_REQUIRED = 'lease_id must be specified';

/** The body's `lease_id` wins over the one in the URL. */
function leaseIdOf(call: Call): string {
  return stringField(call.req.data, 'lease_id') || (call.params['url_lease_id'] ?? '');
}

/** What the renew endpoints answer while `leases.failRenewals` is on. */
function renewFailure(status: number): Outcome {
  switch (status) {
    case 400:
      return fail(400, 'lease is not renewable');
    case 403:
      return fail(403, multiError(['permission denied']));
    case 503:
      return fail(503, 'Vault is sealed');
    default:
      return fail(status, 'internal error');
  }
}

function renew(call: Call): Outcome {
  const leases = call.state.leases;
  if (leases.renewFailure !== null) return renewFailure(leases.renewFailure);
  const id = leaseIdOf(call);
  if (id === '') return fail(400, LEASE_ID_REQUIRED);
  const result = leases.renew(id, durationField(call.req.data, 'increment'));
  if (!result.ok) return fail(400, result.message);
  return respond({
    data: null,
    secret: { leaseId: result.lease.id, renewable: result.lease.renewable, ttlSeconds: result.ttlSeconds },
    warnings: result.warnings,
  });
}

/** 204 when done synchronously; `sync=false` queues the revocation: 202 with an empty body. */
function revoked(sync: boolean): Outcome {
  return sync ? nothing() : raw(202, '');
}

function revoke(call: Call): Outcome {
  const id = leaseIdOf(call);
  if (id === '') return fail(400, LEASE_ID_REQUIRED);
  call.state.leases.revoke(id);
  return revoked(boolField(call.req.data, 'sync', true));
}

function revokePrefix(call: Call, force: boolean): Outcome {
  const prefix = call.params['prefix'] ?? '';
  // The route's `(?P<prefix>.+)` needs at least one character.
  if (prefix === '') return failWrapped(404, 'unsupported path');
  const sync = force || boolField(call.req.data, 'sync', true);
  call.state.leases.revokePrefix(prefix);
  return revoked(sync);
}

function lookup(call: Call): Outcome {
  const id = stringField(call.req.data, 'lease_id');
  if (id === '') return fail(400, LEASE_ID_REQUIRED);
  const lease = call.state.leases.get(id);
  if (!lease) return fail(400, 'invalid lease');
  return respond({
    data: {
      id,
      issue_time: lease.issue.text,
      expire_time: lease.expire.text,
      last_renewal: lease.lastRenewal?.text ?? null,
      renewable: lease.renewable,
      ttl: call.state.leases.remainingSeconds(lease),
    },
  });
}

function lookupList(call: Call): Outcome {
  let prefix = call.params['prefix'] ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return respond({ data: { keys: call.state.leases.listKeys(prefix) } });
}

/** Both the `leases/…` paths and their legacy top-level aliases (`(leases/)?renew`, …). */
function withAliases(pattern: string, rest: Omit<Route, 'pattern'>): Route[] {
  return [{ pattern: `leases/${pattern}`, ...rest }, { pattern, ...rest }];
}

/** sys/ routes, relative to the `sys/` mount. Revoke-prefix, revoke-force and lookup listing are root paths. */
export const leaseRoutes: readonly Route[] = [
  { pattern: 'leases/lookup/*prefix', ops: { list: lookupList }, sudo: true },
  { pattern: 'leases/lookup', ops: { update: lookup } },
  ...withAliases('renew', { ops: { update: renew } }),
  ...withAliases('renew/*url_lease_id', { ops: { update: renew } }),
  ...withAliases('revoke', { ops: { update: revoke } }),
  ...withAliases('revoke/*url_lease_id', { ops: { update: revoke } }),
  ...withAliases('revoke-prefix/*prefix', { ops: { update: (call) => revokePrefix(call, false) }, sudo: true }),
  ...withAliases('revoke-force/*prefix', { ops: { update: (call) => revokePrefix(call, true) }, sudo: true }),
];
