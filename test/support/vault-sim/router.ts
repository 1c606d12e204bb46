// Route tables: compile `{pattern, ops}` entries once, then match relative paths.
import { nothing, respond, type Backend, type Call, type CompiledRoute, type Handler, type Route } from './types.js';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(route: Route): CompiledRoute {
  const segments = route.pattern.split('/');
  const last = segments[segments.length - 1] ?? '';
  const source = segments
    .map((seg) => {
      if (seg.startsWith(':')) return `(?<${seg.slice(1)}>[^/]+)`;
      if (seg.startsWith('*')) return `(?<${seg.slice(1)}>[\\s\\S]*)`;
      if (seg.startsWith('~')) return `(?<${seg.slice(1)}>[\\s\\S]*?[^/])`;
      return escapeRegex(seg);
    })
    .join('/');
  // Like Vault's `…/?$` patterns, a trailing slash is optional unless the tail is a `*` capture.
  const tail = last.startsWith('*') || last.startsWith('~') ? '' : '/?';
  return { ...route, regex: new RegExp(`^${source}${tail}$`) };
}

/** Builds a backend from an ordered route table (first match wins). */
export function backendOf(routes: readonly Route[]): Backend {
  return { routes: routes.map(compile) };
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  readonly params: Record<string, string>;
}

export function matchRoute(backend: Backend, relativePath: string): RouteMatch | undefined {
  for (const route of backend.routes) {
    const m = route.regex.exec(relativePath);
    if (m) return { route, params: { ...(m.groups ?? {}) } };
  }
  return undefined;
}

/**
 * The role paths of an auth plugin: role/ lists the names, role/:name creates, updates (`write`),
 * reads (`data` of the role) and deletes. `key` is the map key of a path's name (some plugins
 * lower-case it).
 */
export function roleRoutes<R>(roles: Map<string, R>, write: Handler, data: (role: R) => Record<string, unknown>, key: (name: string) => string = (n) => n): Route[] {
  const keyOf = (call: Call): string => key(call.params['name'] ?? '');
  return [
    { pattern: 'role/', ops: { list: () => respond({ data: { keys: [...roles.keys()].sort() } }) } },
    {
      pattern: 'role/:name',
      exists: (call) => roles.has(keyOf(call)),
      ops: {
        create: write,
        update: write,
        read: (call) => {
          const role = roles.get(keyOf(call));
          return role ? respond({ data: data(role) }) : nothing();
        },
        delete: (call) => {
          roles.delete(keyOf(call));
          return nothing();
        },
      },
    },
  ];
}
