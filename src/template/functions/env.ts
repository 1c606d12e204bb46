/**
 * consul-template's env, mustEnv, envOrDefault, file and timestamp. The environment is the
 * RenderContext's (the renderer gives the process environment, as Vault Agent's consul-template
 * reads os.Getenv); `file` reads through the context and records the file as a dependency.
 */
import { realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import type { TemplateFunc } from '../types.js';
import { argString, argStrings, GoFuncError, goStringFromBytes } from './go.js';
import type { RenderContext } from './index.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, w: number, c = '0') => String(n).padStart(w, c);

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

const lowerAt = (s: string, i: number) => /^[a-z]$/.test(s[i] ?? '');

/** Go's Time.Format for a UTC time (millisecond precision: JavaScript's Date); chunks as Go's nextStdChunk finds them. */
export function goFormatTime(d: Date, layout: string): string {
  const h = d.getUTCHours();
  const fixed: [string, string][] = [
    ['-070000', '+000000'], ['-07:00:00', '+00:00:00'], ['-0700', '+0000'], ['-07:00', '+00:00'], ['-07', '+00'],
    ['Z070000', 'Z'], ['Z07:00:00', 'Z'], ['Z0700', 'Z'], ['Z07:00', 'Z'], ['Z07', 'Z'],
  ];
  let out = '';
  let i = 0;
  const at = (t: string) => layout.startsWith(t, i);
  while (i < layout.length) {
    const c = layout[i]!;
    let emit: string | undefined;
    let len = 0;
    switch (c) {
      case 'J':
        if (at('January')) { emit = MONTHS[d.getUTCMonth()]!; len = 7; }
        else if (at('Jan') && !lowerAt(layout, i + 3)) { emit = MONTHS[d.getUTCMonth()]!.slice(0, 3); len = 3; }
        break;
      case 'M':
        if (at('Monday')) { emit = DAYS[d.getUTCDay()]!; len = 6; }
        else if (at('Mon') && !lowerAt(layout, i + 3)) { emit = DAYS[d.getUTCDay()]!.slice(0, 3); len = 3; }
        else if (at('MST')) { emit = 'UTC'; len = 3; }
        break;
      case '0': {
        const n = layout[i + 1];
        if (n !== undefined && n >= '1' && n <= '6') {
          len = 2;
          emit = [pad(d.getUTCMonth() + 1, 2), pad(d.getUTCDate(), 2), pad(h % 12 || 12, 2), pad(d.getUTCMinutes(), 2),
            pad(d.getUTCSeconds(), 2), pad(d.getUTCFullYear() % 100, 2)][Number(n) - 1];
        } else if (at('002')) { emit = pad(dayOfYear(d), 3); len = 3; }
        break;
      }
      case '1':
        if (at('15')) { emit = pad(h, 2); len = 2; } else { emit = String(d.getUTCMonth() + 1); len = 1; }
        break;
      case '2':
        if (at('2006')) { emit = pad(d.getUTCFullYear(), 4); len = 4; } else { emit = String(d.getUTCDate()); len = 1; }
        break;
      case '_':
        if (at('_2006')) { emit = '_' + pad(d.getUTCFullYear(), 4); len = 5; }
        else if (at('_2')) { emit = pad(d.getUTCDate(), 2, ' '); len = 2; }
        else if (at('__2')) { emit = pad(dayOfYear(d), 3, ' '); len = 3; }
        break;
      case '3': emit = String(h % 12 || 12); len = 1; break;
      case '4': emit = String(d.getUTCMinutes()); len = 1; break;
      case '5': emit = String(d.getUTCSeconds()); len = 1; break;
      case 'P': if (at('PM')) { emit = h >= 12 ? 'PM' : 'AM'; len = 2; } break;
      case 'p': if (at('pm')) { emit = h >= 12 ? 'pm' : 'am'; len = 2; } break;
      case '-': case 'Z':
        for (const [k, v] of fixed) if (at(k)) { emit = v; len = k.length; break; }
        break;
      case '.': case ',': {
        const m = /^[.,](0+|9+)/.exec(layout.slice(i));
        if (m && !/^\d$/.test(layout[i + m[0].length] ?? '')) {
          const n = Math.min(m[1]!.length, 9);
          const digits = String(d.getUTCMilliseconds() * 1_000_000).padStart(9, '0').slice(0, n);
          if (m[1]![0] === '0') emit = c + digits;
          else { const t = digits.replace(/0+$/, ''); emit = t ? c + t : ''; }
          len = m[0].length;
        }
        break;
      }
    }
    if (emit === undefined) { out += c; i++; } else { out += emit; i += len; }
  }
  return out;
}

/** A file `file` reads is missing or unreadable: the template is not rendered (consul-template retries). */
export class FileDependencyError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'FileDependencyError';
  }
}

/** consul-template's pathInSandbox: the path with symlinks resolved must not lead outside the sandbox. */
async function inSandbox(sandbox: string, path: string): Promise<void> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GoFuncError(code === 'ENOENT' ? `lstat ${path}: no such file or directory` : (e as Error).message);
  }
  const rel = relative(sandbox, real);
  if (rel.startsWith('..')) throw new GoFuncError(`'${path}' is outside of sandbox`);
}

export function envFuncs(ctx: RenderContext, now: () => Date): Record<string, TemplateFunc> {
  return {
    env: (name) => ctx.env(argString(name)) ?? '',
    mustEnv: (name) => {
      const n = argString(name);
      const v = ctx.env(n) ?? '';
      if (v === '') throw new GoFuncError(`required environment variable ${n} is empty`);
      return v;
    },
    envOrDefault: (name, def) => {
      const v = ctx.env(argString(name));
      const d = argString(def);
      return v ?? d;
    },
    file: async (p) => {
      const path = argString(p);
      if (path === '') return '';
      if (ctx.sandboxPath) await inSandbox(ctx.sandboxPath, path);
      ctx.used.push({ kind: 'file', path });
      try {
        return ctx.readFileBytes ? goStringFromBytes(await ctx.readFileBytes(path)) : await ctx.readFile(path);
      } catch (e) {
        // consul-template's FileQuery: "file(PATH): stat PATH: no such file or directory" (the template waits for it).
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `stat ${path}: no such file or directory`
          : code === 'EACCES' ? `open ${path}: permission denied`
          : code === 'EISDIR' ? `read ${path}: is a directory`
          : (e as Error).message;
        throw new FileDependencyError(`file(${path}): ${why}`, path);
      }
    },
    timestamp: (...args) => {
      const s = argStrings(args);
      if (s.length > 1) throw new GoFuncError(`timestamp: wrong number of arguments, expected 0 or 1, but got ${s.length}`);
      const t = now();
      if (s.length === 0) return goFormatTime(t, '2006-01-02T15:04:05Z07:00');
      if (s[0] === 'unix') return String(Math.floor(t.getTime() / 1000));
      return goFormatTime(t, s[0]!);
    },
  };
}
