// Response wrapping: single-use wrapping tokens holding a stored response, and sys/wrapping/*.
import { stringField } from './fields.js';
import { RESPONSE_WRAPPING_POLICY } from './policy.js';
import { stampAt, type Stamp } from './time.js';
import type { TokenStore } from './tokens.js';
import { fail, raw, respond, type Call, type Outcome, type Route } from './types.js';
import type { WrapInfo } from './envelope.js';

export const INVALID_WRAPPING_TOKEN = 'wrapping token is not valid or does not exist';

interface WrappedResponse {
  readonly token: string;
  readonly creation: Stamp;
  readonly creationPath: string;
  readonly ttlSeconds: number;
  /** The original response, as json.Marshal wrote it into the cubbyhole. */
  readonly responseJson: string;
}

export class WrapStore {
  private readonly byToken = new Map<string, WrappedResponse>();

  constructor(private readonly tokens: TokenStore, private readonly now: () => number) {}

  /** Stores a response behind a new wrapping token; returns the wrap_info block. */
  wrap(creationPath: string, ttlSeconds: number, responseJson: string, wrappedAccessor: string): WrapInfo {
    const entry = this.tokens.create({
      policies: [RESPONSE_WRAPPING_POLICY],
      parent: '',
      path: creationPath,
      displayName: '',
      numUses: 1,
      ttlSeconds,
      explicitMaxTtlSeconds: ttlSeconds,
      renewable: false,
    });
    const creation = stampAt(this.now());
    this.byToken.set(entry.id, { token: entry.id, creation, creationPath, ttlSeconds, responseJson });
    const info: WrapInfo = {
      token: entry.id,
      accessor: entry.accessor,
      ttl: ttlSeconds,
      creation_time: creation.text,
      creation_path: creationPath,
    };
    return wrappedAccessor === '' ? info : { ...info, wrapped_accessor: wrappedAccessor };
  }

  /** The stored response if `token` is a live wrapping token. */
  peek(token: string): WrappedResponse | undefined {
    const stored = this.byToken.get(token);
    if (!stored) return undefined;
    if (!this.tokens.lookupTainted(token)) {
      this.byToken.delete(token);
      return undefined;
    }
    return stored;
  }

  /** Takes the stored response out and revokes the wrapping token (single use). */
  take(token: string): WrappedResponse | undefined {
    const stored = this.peek(token);
    this.byToken.delete(token);
    this.tokens.revokeTree(token);
    return stored;
  }
}

export const WRAPPING_PATHS = ['sys/wrapping/unwrap', 'sys/wrapping/lookup', 'sys/wrapping/rewrap'];

/**
 * validateWrappingToken, run before the ACL check on the wrapping paths: the token comes from
 * the body (`token`, a third party unwrapping) or else from the request's own token.
 */
export function checkWrappingToken(call: Pick<Call, 'state' | 'req'>): Outcome | undefined {
  const bodyToken = call.req.data['token'];
  let token: string | undefined;
  if (bodyToken !== undefined && bodyToken !== null) {
    if (typeof bodyToken !== 'string') return fail(403, 'error validating wrapping token: could not decode token in request body');
    if (bodyToken === '') return fail(403, 'error validating wrapping token: empty token in request body');
    token = bodyToken;
  } else {
    token = call.req.token;
  }
  if (!token) return fail(403, 'error validating wrapping token: token is empty');
  return call.state.wraps.peek(token) ? undefined : fail(400, INVALID_WRAPPING_TOKEN);
}

function wrappingTokenOf(call: Call): string {
  return stringField(call.req.data, 'token') || (call.req.token ?? '');
}

function unwrap(call: Call): Outcome {
  const stored = call.state.wraps.take(wrappingTokenOf(call));
  if (!stored) return fail(400, INVALID_WRAPPING_TOKEN);
  return raw(200, stored.responseJson);
}

function lookup(call: Call): Outcome {
  const token = wrappingTokenOf(call);
  if (token === '') return fail(400, 'missing "token" value in input');
  const stored = call.state.wraps.peek(token);
  if (!stored) return fail(400, INVALID_WRAPPING_TOKEN);
  return respond({
    data: { creation_path: stored.creationPath, creation_time: stored.creation.text, creation_ttl: stored.ttlSeconds },
  });
}

function wrapArbitrary(call: Call): Outcome {
  if (call.req.wrapTtlSeconds <= 0) return fail(400, 'endpoint requires response wrapping to be used');
  return respond({ data: { ...call.req.data } });
}

/** sys/wrapping/* routes, relative to the `sys/` mount. */
export const wrappingRoutes: readonly Route[] = [
  { pattern: 'wrapping/unwrap', ops: { update: unwrap } },
  { pattern: 'wrapping/lookup', ops: { update: lookup, read: lookup }, unauthenticated: true },
  { pattern: 'wrapping/wrap', ops: { update: wrapArbitrary } },
];
