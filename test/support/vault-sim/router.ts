// Route tables: compile `{pattern, ops}` entries once, then match relative paths.
import type { Backend, CompiledRoute, Route } from './types.js';

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
