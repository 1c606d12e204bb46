// Helpers of the template function tests: the template of a case, our value of it, Go's printing.
import { createFuncs, type RenderContext } from '../../../src/template/functions/index.js';
import { formatFloat, GoFloat } from '../../../src/template/functions/go.js';
import { GoStruct, JsonNumber } from '../../../src/template/types.js';
import { parseVaultJson } from '../../../src/template/vault-json.js';
import { DATA, F, type Arg, type FnCase } from './functions-oracle-cases.js';

/** The Go template expression of an argument. */
function templateArg(a: Arg): string {
  if (a === DATA) return '(oracleData)';
  if (a === null) return 'nil';
  if (a instanceof F) return Number.isInteger(a.v) ? `${a.v}.0` : String(a.v);
  if (typeof a === 'string') return JSON.stringify(a);
  if (typeof a === 'number' || typeof a === 'boolean') return String(a);
  return `(${a.call} ${a.args.map(templateArg).join(' ')})`;
}

export function templateOf(fc: FnCase): string {
  const call = `${fc.f} ${fc.a.map(templateArg).join(' ')}`;
  return fc.range ? `{{ range ${call} }}{{ . }},{{ end }}` : `{{ ${call} }}`;
}

/** fmt's %v as text/template prints a value. */
export function goPrint(v: unknown, nested = false): string {
  if (v === null || v === undefined) return nested ? '<nil>' : '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v);
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => goPrint(x, true)).join(' ')}]`;
  if (v instanceof GoStruct) return `{${Object.entries(v).filter(([k]) => /^\p{Lu}/u.test(k)).map(([, x]) => goPrint(x, true)).join(' ')}}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goPrint(o[k], true)}`).join(' ')}]`;
  }
  return String(v);
}

export function contextFor(fc: FnCase): RenderContext {
  const env = fc.env ?? {};
  return {
    vault: { request: async () => { throw new Error('no Vault in pure-function cases'); } },
    env: (name) => (Object.prototype.hasOwnProperty.call(env, name) ? env[name] : process.env[name]),
    readFile: async () => { throw new Error('no files'); },
    used: [],
  };
}

type Ours = { output: string } | { error: string };

export async function evaluate(fc: FnCase): Promise<Ours> {
  const funcs = createFuncs(contextFor(fc));
  const data = fc.data === undefined ? undefined : parseVaultJson(JSON.stringify(fc.data));
  const ev = async (a: Arg): Promise<unknown> => {
    if (a === DATA) return data;
    if (a instanceof F) return Number.isInteger(a.v) ? new GoFloat(a.v) : a.v; // a float64 constant, as the engine hands it
    if (a === null || typeof a !== 'object') return a;
    const fn = funcs[a.call];
    if (!fn) throw new Error(`function "${a.call}" not defined`);
    return fn(...(await Promise.all(a.args.map(ev))));
  };
  try {
    const v = await ev({ call: fc.f, args: fc.a });
    if (fc.range) return { output: (v as unknown[]).map((x) => `${goPrint(x)},`).join('') };
    return { output: goPrint(v) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

