/**
 * The seam between the template engine (src/template/engine/: Go's text/template), the function
 * library (src/template/functions/: consul-template's functions) and the renderer
 * (src/worker/templates/: Vault Agent's `template` stanza). Each side depends only on this file.
 *
 * Values as the engine sees them (Go's kinds):
 * - `null` / `undefined`: nil; `boolean`: bool; `number`: int when Number.isInteger, else float64;
 * - `string`: string; a `JsonNumber` (a number from Vault's JSON, which Vault's Go client decodes
 *   with UseNumber into json.Number, a string type): kind string, printed as its text;
 * - arrays: slices; plain objects (prototype Object or null): map[string]interface{}, ranged in
 *   sorted key order, a missing key is "<no value>" (or an error under missingkey=error);
 * - instances of `GoStruct` subclasses: structs; a missing field is an execution error; only own
 *   enumerable properties with an upper-case first letter are fields (Go's exported fields).
 */

/** A function callable from a template. It may be async: the engine awaits what it returns. */
export type TemplateFunc = (...args: unknown[]) => unknown;
export type FuncMap = Readonly<Record<string, TemplateFunc>>;

export interface ParseOptions {
  /** Go's Delims; empty or undefined means the default `{{` / `}}`. */
  leftDelim?: string;
  rightDelim?: string;
  /** The functions the template may call besides Go's builtins (an unknown name is a parse error, as in Go). */
  funcs: FuncMap;
}

export interface ExecuteOptions {
  /** Go's Option("missingkey=…"); Vault Agent's `error_on_missing_key = true` is 'error'. Default 'default'. */
  missingKey?: 'default' | 'zero' | 'error';
}

export interface CompiledTemplate {
  readonly name: string;
  /** Renders with `data` as dot. Rejects with a TemplateError on an execution error. */
  execute(data: unknown, opts?: ExecuteOptions): Promise<string>;
}

/** A parse or execution error, its message formatted as Go's (`template: NAME:LINE:COL: …`). */
export class TemplateError extends Error {
  constructor(message: string, readonly kind: 'parse' | 'exec') {
    super(message);
    this.name = 'TemplateError';
  }
}

/** A number from Vault's JSON, kept as its text (Go's json.Number). */
export class JsonNumber {
  constructor(readonly text: string) {}
  toString(): string { return this.text; }
  toJSON(): number { return Number(this.text); }
}

/** Base class of values the engine treats as Go structs (e.g. consul-template's Secret). */
export abstract class GoStruct {
  /** Go's type name, for error messages and %v/%T (e.g. "*dependency.Secret"). */
  abstract readonly goTypeName: string;
}
