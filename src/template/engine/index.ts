/**
 * Go's text/template in TypeScript: `parseTemplate` parses a template (with the caller's functions
 * besides Go's builtins) into a CompiledTemplate whose `execute` renders it. Output and error texts
 * are Go's, byte for byte, for the values described in ../types.ts.
 */
import { TemplateError, type CompiledTemplate, type ExecuteOptions, type ParseOptions } from '../types.js';
import { BUILTINS, signatureOf, type FuncDef } from './builtins.js';

export type { GoSignature } from './builtins.js';
import { ExecError, Executor, type Program } from './exec.js';
import { parse, ParseError } from './parser.js';

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
