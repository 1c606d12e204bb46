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
 * A caller's function may declare its Go signature, so the engine checks calls as Go's
 * text/template checks them before the function runs ("wrong number of args for NAME: want 2 got
 * 1", "wrong type for value; expected string; got json.Number", "expected string; found 3"):
 * `goParams` lists the fixed parameters' Go types, `goVariadic` the element type of a final
 * ...parameter. Types the engine checks: string, int, bool; any other type name counts for the
 * number of arguments only. Without `goParams` a function takes any number of arguments of any type.
 */
export interface GoSignature {
  goParams?: readonly string[];
  goVariadic?: string;
}

function signatureOf(fn: TemplateFunc & GoSignature): FuncDef {
  if (!Array.isArray(fn.goParams)) return { params: [], variadic: 'any', builtin: false, fn };
  return {
    params: fn.goParams.map(paramType),
    variadic: fn.goVariadic === undefined ? null : paramType(fn.goVariadic),
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
