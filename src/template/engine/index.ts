/**
 * Go's text/template in TypeScript: `parseTemplate` parses a template (with the caller's functions
 * besides Go's builtins) into a CompiledTemplate whose `execute` renders it. Output and error texts
 * are Go's, byte for byte, for the values described in ../types.ts.
 */
import { TemplateError, type CompiledTemplate, type ExecuteOptions, type ParseOptions, type TemplateFunc } from '../types.js';
import { BUILTINS, paramType, type FuncDef } from './builtins.js';
import { ExecError, Executor, type Program } from './exec.js';
import { parse, ParseError } from './parser.js';

/**
 * A caller's function may carry its Go signature as a `goSignature` property ({ params, variadic }:
 * the fixed parameters' Go types and the element type of a final ...parameter, or null), so the
 * engine checks each call as Go's text/template does before the function runs ("wrong number of
 * args for NAME: want 2 got 1", "wrong type for value; expected string; got json.Number",
 * "expected string; found 3", "invalid value; expected string"). The engine checks string, int and
 * bool parameters; any other type (interface {}, 'any', []string …) counts for the number of
 * arguments only. Without a signature a function takes any number of arguments of any type.
 */
export interface GoSignature {
  params: readonly string[];
  variadic: string | null;
}

function signatureOf(fn: TemplateFunc): FuncDef {
  const sig = (fn as { goSignature?: GoSignature }).goSignature;
  if (!sig || !Array.isArray(sig.params)) return { params: [], variadic: 'any', builtin: false, fn };
  return {
    params: sig.params.map(paramType),
    variadic: sig.variadic === null || sig.variadic === undefined ? null : paramType(sig.variadic),
    builtin: false,
    fn,
  };
}

export function parseTemplate(name: string, text: string, opts: ParseOptions): CompiledTemplate {
  const funcs = new Map<string, FuncDef>();
  for (const [fname, fn] of Object.entries(opts.funcs)) {
    if (typeof fn !== 'function') continue;
    funcs.set(fname, signatureOf(fn));
  }
  const hasFunction = (f: string): boolean => funcs.has(f) || Object.prototype.hasOwnProperty.call(BUILTINS, f);
  let trees;
  try {
    trees = parse(name, text, opts.leftDelim, opts.rightDelim, hasFunction);
  } catch (err) {
    if (err instanceof ParseError) throw new TemplateError(err.message, 'parse');
    throw err;
  }
  const prog: Program = { parseName: name, text, trees, funcs };
  return {
    name,
    async execute(data: unknown, execOpts?: ExecuteOptions): Promise<string> {
      const exec = new Executor(prog, execOpts?.missingKey ?? 'default');
      try {
        return await exec.run(name, data);
      } catch (err) {
        if (err instanceof ExecError) throw new TemplateError(err.message, 'exec');
        throw err;
      }
    },
  };
}
