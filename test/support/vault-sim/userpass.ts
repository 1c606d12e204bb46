// The userpass auth method (builtin/credential/userpass): users with a password and token
// settings, and login, which gives the user an identity entity (one per mount and username).
import { hasField, stringField } from './fields.js';
import { backendOf } from './router.js';
import { defaultTokenParams, issueLoginToken, parseTokenFields, populateTokenData, type TokenParams } from './token-util.js';
import { fail, nothing, respond, type Backend, type Call, type Outcome } from './types.js';

interface User extends TokenParams {
  readonly name: string;
  password: string;
}

function applyUserFields(user: User, call: Call): string | undefined {
  const d = call.req.data;
  if (hasField(d, 'password')) user.password = stringField(d, 'password');
  return parseTokenFields(user, d, ['policies', 'ttl', 'max_ttl', 'bound_cidrs']);
}

export function userpassBackend(): Backend {
  const users = new Map<string, User>();
  const nameOf = (call: Call): string => (call.params['username'] ?? '').toLowerCase();

  const writeUser = (call: Call): Outcome => {
    const name = nameOf(call);
    const existing = users.get(name);
    if (!existing && !hasField(call.req.data, 'password')) return fail(400, 'missing password');
    const user: User = existing ? { ...existing } : { name, password: '', ...defaultTokenParams() };
    const problem = applyUserFields(user, call);
    if (problem) return fail(400, problem);
    users.set(name, user);
    return nothing();
  };

  const login = (call: Call): Outcome => {
    const user = users.get(nameOf(call));
    const password = stringField(call.req.data, 'password');
    if (password === '') return fail(400, 'missing password');
    if (!user || user.password !== password) return fail(400, 'invalid username or password');
    return issueLoginToken(call, call.mount, user, {
      path: `${call.mount.routePrefix}login/${user.name}`, displayName: user.name, metadata: { username: user.name }, aliasName: user.name,
    });
  };

  return backendOf([
    { pattern: 'login/:username', ops: { update: login }, unauthenticated: true, login: true },
    { pattern: 'users/', ops: { list: () => respond({ data: { keys: [...users.keys()].sort() } }) } },
    {
      pattern: 'users/:username/password',
      ops: {
        update: (call) => {
          const user = users.get(nameOf(call));
          if (!user) return fail(400, 'username does not exist');
          const password = stringField(call.req.data, 'password');
          if (password === '') return fail(400, 'missing password');
          user.password = password;
          return nothing();
        },
      },
    },
    {
      pattern: 'users/:username',
      exists: (call) => users.has(nameOf(call)),
      ops: {
        create: writeUser,
        update: writeUser,
        read: (call) => {
          const user = users.get(nameOf(call));
          return user ? respond({ data: populateTokenData(user) }) : nothing();
        },
        delete: (call) => {
          users.delete(nameOf(call));
          return nothing();
        },
      },
    },
  ]);
}
