/**
 * The executor: walks a parsed template as text/template's exec.go does — variables and their
 * scopes, if/with/range (maps in sorted key order, break/continue, else), template invocation,
 * field chains over maps, slices and GoStructs, function calls (awaiting async functions), the
 * missingkey option — and reports errors as Go does:
 * `template: NAME:LINE:COL: executing "NAME" at <NODE>: …`.
 */
import { GoStruct, JsonNumber, type TemplateFunc } from '../types.js';
import type {
  BranchNode, ChainNode, CommandNode, FieldNode, IdentifierNode, Node, NumberNode, PipeNode, TemplateNode, VariableNode,
} from './ast.js';
import { nodeString } from './ast.js';
import { BUILTINS, CallError, indirect, isCompositeType, isTrue, signatureOf, type FuncDef, type ParamType } from './builtins.js';
import { sprintValue } from './gofmt.js';
import type { Tree } from './parser.js';
import { quote } from './strconv.js';
import {
  concrete, elem, fieldValue, GoComplex, GoFloat, Iface, methodNames, zeroElem, kindOf, sortedKeys, structFields, toPublic, typeString,
} from './values.js';

export class ExecError extends Error {}

const MISSING = Symbol('missing');
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');
const MAX_EXEC_DEPTH = 100000;

interface Variable { name: string; value: unknown }

interface State {
  tmplName: string;
  node: Node | null;
  vars: Variable[];
  depth: number;
}

export interface Program {
  parseName: string;
  text: string;
  trees: Map<string, Tree>;
  funcs: Map<string, FuncDef>;
}

type Final = unknown | typeof MISSING;

/** A method of a value (json.Number's String, Int64, Float64). */
function methodOf(receiver: unknown, name: string): FuncDef | undefined {
  if (!(receiver instanceof JsonNumber)) return undefined;
  const text = receiver.text;
  switch (name) {
    case 'String':
      return { params: [], variadic: null, builtin: false, fn: () => text };
    case 'Float64':
      return {
        params: [], variadic: null, builtin: false,
        fn: () => {
          const f = Number(text);
          if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || Number.isNaN(f)) {
            throw new CallError(`strconv.ParseFloat: parsing ${quote(text)}: invalid syntax`);
          }
          return Number.isInteger(f) ? new GoFloat(f) : f;
        },
      };
    case 'Int64':
      return {
        params: [], variadic: null, builtin: false,
        fn: () => {
          if (!/^[+-]?\d+$/.test(text)) throw new CallError(`strconv.ParseInt: parsing ${quote(text)}: invalid syntax`);
          const n = BigInt(text);
          if (n > 0x7fffffffffffffffn || n < -0x8000000000000000n) {
            throw new CallError(`strconv.ParseInt: parsing ${quote(text)}: value out of range`);
          }
          return Number(n);
        },
      };
  }
  return undefined;
}

export class Executor {
  private out = '';

  constructor(private readonly prog: Program, private readonly missingKey: 'default' | 'zero' | 'error') {}

  async run(name: string, data: unknown): Promise<string> {
    const tree = this.prog.trees.get(name)!;
    const dot = data === null || data === undefined ? undefined : data;
    const s: State = { tmplName: name, node: null, vars: [{ name: '$', value: dot }], depth: 0 };
    await this.walk(s, dot, tree.root);
    return this.out;
  }

  // --- errors ---

  private errorf(s: State, msg: string): never {
    const name = s.tmplName;
    if (s.node === null) throw new ExecError(`template: ${name}: ${msg}`);
    const { location, context } = this.errorContext(s.node);
    throw new ExecError(`template: ${location}: executing ${quote(name)} at <${context}>: ${msg}`);
  }

  private errorContext(n: Node): { location: string; context: string } {
    const text = this.prog.text.slice(0, n.pos);
    const nl = text.lastIndexOf('\n');
    const col = Buffer.byteLength(nl === -1 ? text : text.slice(nl + 1));
    let line = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
    return { location: `${this.prog.parseName}:${line}:${col}`, context: nodeString(n) };
  }

  // --- variables ---

  private push(s: State, name: string, value: unknown): void {
    s.vars.push({ name, value });
  }

  private setVar(s: State, name: string, value: unknown): void {
    for (let i = s.vars.length - 1; i >= 0; i--) {
      if (s.vars[i]!.name === name) {
        s.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(s, `undefined variable: ${name}`);
  }

  private setTopVar(s: State, n: number, value: unknown): void {
    s.vars[s.vars.length - n]!.value = value;
  }

  private varValue(s: State, name: string): unknown {
    for (let i = s.vars.length - 1; i >= 0; i--) {
      if (s.vars[i]!.name === name) return s.vars[i]!.value;
    }
    this.errorf(s, `undefined variable: ${name}`);
  }

  // --- walk ---

  private async walk(s: State, dot: unknown, node: Node): Promise<void> {
    s.node = node;
    switch (node.type) {
      case 'action': {
        const val = await this.evalPipeline(s, dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(s, node, val);
        return;
      }
      case 'break': throw BREAK;
      case 'continue': throw CONTINUE;
      case 'comment': return;
      case 'if': case 'with': return this.walkIfOrWith(s, dot, node);
      case 'list':
        for (const n of node.nodes) await this.walk(s, dot, n);
        return;
      case 'range': return this.walkRange(s, dot, node);
      case 'template': return this.walkTemplate(s, dot, node);
      case 'text':
        this.out += node.text;
        return;
      default:
        this.errorf(s, `unknown node: ${nodeString(node)}`);
    }
  }

  private async walkIfOrWith(s: State, dot: unknown, node: BranchNode): Promise<void> {
    const mark = s.vars.length;
    try {
      const val = await this.evalPipeline(s, dot, node.pipe);
      if (isTrue(val)) await this.walk(s, node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) await this.walk(s, dot, node.elseList);
    } finally {
      s.vars.length = mark;
    }
  }

  private async walkRange(s: State, dot: unknown, r: BranchNode): Promise<void> {
    s.node = r;
    const mark0 = s.vars.length;
    try {
      const val = indirect(await this.evalPipeline(s, dot, r.pipe)).v;
      const mark = s.vars.length;
      const decl = r.pipe.decl;
      const oneIteration = async (index: unknown, el: unknown): Promise<void> => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) {
            this.setVar(s, decl[0]!.ident[0]!, decl.length > 1 ? index : el);
          } else {
            this.setTopVar(s, 1, el);
          }
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(s, decl[1]!.ident[0]!, el);
          else this.setTopVar(s, 2, index);
        }
        try {
          await this.walk(s, el, r.list);
        } catch (err) {
          if (err !== CONTINUE) throw err;
        } finally {
          s.vars.length = mark;
        }
      };
      let ran = false;
      switch (kindOf(val)) {
        case 'int': {
          if (decl.length > 1) this.errorf(s, `can't use ${sprintValue(val)} to iterate over more than one variable`);
          const n = Number(val);
          for (let i = 0; i < n; i++) {
            ran = true;
            await oneIteration(undefined, i);
          }
          break;
        }
        case 'slice': {
          const a = val as unknown[];
          for (let i = 0; i < a.length; i++) {
            ran = true;
            await oneIteration(i, elem(a, a[i]));
          }
          break;
        }
        case 'map': {
          const m = val as Record<string, unknown>;
          for (const k of sortedKeys(m)) {
            ran = true;
            await oneIteration(k, elem(m, m[k]));
          }
          break;
        }
        case 'invalid':
          break;
        default:
          this.errorf(s, `range can't iterate over ${sprintValue(val)}`);
      }
      if (!ran && r.elseList) await this.walk(s, dot, r.elseList);
    } catch (err) {
      if (err !== BREAK) throw err;
    } finally {
      s.vars.length = mark0;
    }
  }

  private async walkTemplate(s: State, dot: unknown, t: TemplateNode): Promise<void> {
    s.node = t;
    const tree = this.prog.trees.get(t.name);
    if (tree === undefined) this.errorf(s, `template ${quote(t.name)} not defined`);
    if (s.depth === MAX_EXEC_DEPTH) this.errorf(s, `exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = await this.evalPipeline(s, dot, t.pipe);
    const ns: State = { tmplName: t.name, node: s.node, vars: [{ name: '$', value: newDot }], depth: s.depth + 1 };
    await this.walk(ns, newDot, tree.root);
  }

  // --- evaluation ---

  private async evalPipeline(s: State, dot: unknown, pipe: PipeNode | null): Promise<unknown> {
    if (pipe === null) return undefined;
    s.node = pipe;
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = await this.evalCommand(s, dot, cmd, value);
      if (value instanceof Iface) value = concrete(value);
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(s, v.ident[0]!, value);
      else this.push(s, v.ident[0]!, value);
    }
    return value;
  }

  private notAFunction(s: State, args: Node[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(s, `can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  private async evalCommand(s: State, dot: unknown, cmd: CommandNode, final: Final): Promise<unknown> {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field': return this.evalFieldNode(s, dot, first, cmd.args, final);
      case 'chain': return this.evalChainNode(s, dot, first, cmd.args, final);
      case 'identifier': return this.evalFunction(s, dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(s, cmd.args, final);
        return this.evalPipeline(s, dot, first);
      case 'variable': return this.evalVariableNode(s, dot, first, cmd.args, final);
    }
    s.node = first;
    this.notAFunction(s, cmd.args, final);
    switch (first.type) {
      case 'bool': return first.value;
      case 'dot': return dot;
      case 'nil': this.errorf(s, 'nil is not a command');
      case 'number': return this.idealConstant(s, first);
      case 'string': return first.text;
    }
    this.errorf(s, `can't evaluate command ${quote(nodeString(first))}`);
  }

  private idealConstant(s: State, c: NumberNode): unknown {
    s.node = c;
    const isHexInt = c.text.length > 2 && c.text[0] === '0' && (c.text[1] === 'x' || c.text[1] === 'X') && !/[pP]/.test(c.text);
    const isRuneInt = c.text[0] === "'";
    if (c.isComplex) return new GoComplex(c.complex[0], c.complex[1]);
    if (c.isFloat && !isHexInt && !isRuneInt && /[.eEpP]/.test(c.text)) {
      return Number.isInteger(c.float64) ? new GoFloat(c.float64) : c.float64;
    }
    if (c.isInt) return Number.isSafeInteger(Number(c.int64)) ? Number(c.int64) : c.int64;
    if (c.isUint) this.errorf(s, `${c.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(s: State, dot: unknown, field: FieldNode, args: Node[] | null, final: Final): Promise<unknown> {
    s.node = field;
    return this.evalFieldChain(s, dot, dot, field, field.ident, args, final);
  }

  private async evalChainNode(s: State, dot: unknown, chain: ChainNode, args: Node[] | null, final: Final): Promise<unknown> {
    s.node = chain;
    if (chain.node.type === 'nil') this.errorf(s, `indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = await this.evalArg(s, dot, null, chain.node);
    return this.evalFieldChain(s, dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(s: State, dot: unknown, v: VariableNode, args: Node[] | null, final: Final): Promise<unknown> | unknown {
    s.node = v;
    const value = this.varValue(s, v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(s, args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(s, dot, value, v, v.ident.slice(1), args, final);
  }

  private async evalFieldChain(
    s: State, dot: unknown, receiver: unknown, node: Node, ident: string[], args: Node[] | null, final: Final,
  ): Promise<unknown> {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = await this.evalField(s, dot, ident[i]!, node, null, MISSING, receiver);
    return this.evalField(s, dot, ident[n - 1]!, node, args, final, receiver);
  }

  private async evalFunction(s: State, dot: unknown, node: IdentifierNode, cmd: Node, args: Node[] | null, final: Final): Promise<unknown> {
    s.node = node;
    const name = node.ident;
    const fn = this.prog.funcs.get(name) ?? BUILTINS[name];
    if (fn === undefined) this.errorf(s, `${quote(name)} is not a defined function`);
    return this.evalCall(s, dot, fn, cmd, name, args, final);
  }

  private async evalField(
    s: State, dot: unknown, fieldName: string, node: Node, args: Node[] | null, final: Final, receiver: unknown,
  ): Promise<unknown> {
    if (receiver === undefined || receiver === null) {
      if (this.missingKey === 'error') this.errorf(s, `nil data; no entry for key ${quote(fieldName)}`);
      return undefined;
    }
    const typ = typeString(receiver);
    const { v: rv, isNil } = indirect(receiver);
    if (isNil) this.errorf(s, `nil pointer evaluating ${typ}.${fieldName}`);
    const method = methodOf(rv, fieldName);
    if (method) return this.evalCall(s, dot, method, node, fieldName, args, final);
    if (rv instanceof GoStruct && methodNames(rv).includes(fieldName) && fieldName in rv) {
      const m = (rv as unknown as Record<string, unknown>)[fieldName];
      let def: FuncDef = { params: [], variadic: null, builtin: false, fn: () => m };
      if (typeof m === 'function') def = { ...signatureOf(m as TemplateFunc), fn: (m as TemplateFunc).bind(rv) };
      return this.evalCall(s, dot, def, node, fieldName, args, final);
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    const k = kindOf(rv);
    if (k === 'struct' || k === 'ptr') {
      const field = structFields(rv as GoStruct).find(([name]) => name === fieldName);
      if (field) {
        if (hasArgs) this.errorf(s, `${fieldName} has arguments but cannot be invoked as function`);
        return fieldValue(rv as GoStruct, fieldName, field[1]);
      }
    } else if (k === 'map') {
      if (hasArgs) this.errorf(s, `${fieldName} is not a method but has arguments`);
      const m = rv as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(m, fieldName)) return elem(m, m[fieldName]);
      switch (this.missingKey) {
        case 'zero': return zeroElem(m);
        case 'error': this.errorf(s, `map has no entry for key ${quote(fieldName)}`);
        default: return undefined;
      }
    }
    this.errorf(s, `can't evaluate field ${fieldName} in type ${typ}`);
  }

  private async evalCall(
    s: State, dot: unknown, fn: FuncDef, node: Node, name: string, argsIn: Node[] | null, final: Final,
  ): Promise<unknown> {
    const args = argsIn ? argsIn.slice(1) : [];
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    let numFixed = args.length;
    if (fn.variadic !== null) {
      numFixed = fn.params.length;
      if (numIn < numFixed) this.errorf(s, `wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`);
    } else if (numIn !== fn.params.length) {
      this.errorf(s, `wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }

    if (fn.builtin && (name === 'and' || name === 'or')) {
      let v: unknown;
      for (const arg of args) {
        v = await this.evalArg(s, dot, 'value', arg);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(s, final, 'value');
      return v;
    }

    const argv: unknown[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(await this.evalArg(s, dot, fn.params[i]!, args[i]!));
    if (fn.variadic !== null) {
      for (; i < args.length; i++) argv.push(await this.evalArg(s, dot, fn.variadic, args[i]!));
    }
    if (final !== MISSING) {
      let t: ParamType = fn.params[fn.params.length - 1] ?? 'any';
      if (fn.variadic !== null) t = numIn - 1 < numFixed ? fn.params[numIn - 1]! : fn.variadic;
      argv.push(this.validateType(s, final, t));
    }

    let result: unknown;
    try {
      if (fn.builtin && name === 'call') {
        const calleeName = args.length === 0 ? String(toPublic(final)) : nodeString(args[0]!);
        result = await this.callBuiltin(calleeName, argv);
      } else if (fn.builtin) {
        result = fn.fn(...argv);
      } else {
        result = await fn.fn(...argv.map(toPublic));
        if (result === null || result === undefined) result = new Iface(null);
      }
    } catch (err) {
      s.node = node;
      const msg = err instanceof Error ? err.message : String(err);
      this.errorf(s, `error calling ${name}: ${msg}`);
    }
    return result;
  }

  private async callBuiltin(calleeName: string, argv: unknown[]): Promise<unknown> {
    const fnv = concrete(argv[0]);
    if (fnv === undefined) throw new CallError('call of nil');
    if (typeof fnv !== 'function') throw new CallError(`non-function ${calleeName} of type ${typeString(fnv)}`);
    const r = await (fnv as (...a: unknown[]) => unknown)(...argv.slice(1).map(toPublic));
    return r === null || r === undefined ? new Iface(null) : r;
  }

  private validateType(s: State, value: unknown, typ: ParamType | null): unknown {
    if (value === undefined || value === null) {
      if (typ === null || typ === 'any' || typ === 'value') return undefined;
      // canBeNil: an untyped nil is the slice's or map's zero value (nil).
      if (isCompositeType(typ)) return null;
      this.errorf(s, `invalid value; expected ${typ}`);
    }
    if (typ === 'any') return concrete(value);
    if (isCompositeType(typ)) {
      // reflect's AssignableTo: only the very type (no conversion of []interface {} to []string);
      // a non-nil interface is looked into once, as text/template does.
      let v = value;
      if (v instanceof Iface && v.v !== null && v.v !== undefined) v = v.v;
      if (!(v instanceof Iface) && typeString(v) === typ) return v;
      this.errorf(s, `wrong type for value; expected ${typ}; got ${typeString(v)}`);
    }
    if (typ === 'string' || typ === 'int' || typ === 'bool') {
      let v = value;
      if (v instanceof Iface && v.v !== null && v.v !== undefined) v = v.v;
      const ok = typ === 'string' ? typeof v === 'string'
        : typ === 'bool' ? typeof v === 'boolean'
          : (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
      if (ok) return v;
      this.errorf(s, `wrong type for value; expected ${typ}; got ${typeString(v)}`);
    }
    return value;
  }

  private async evalArg(s: State, dot: unknown, typ: ParamType | null, n: Node): Promise<unknown> {
    s.node = n;
    switch (n.type) {
      case 'dot': return this.validateType(s, dot, typ);
      case 'nil':
        if (typ === null || typ === 'any' || typ === 'value') return undefined;
        if (isCompositeType(typ)) return null;
        this.errorf(s, `cannot assign nil to ${typ}`);
      case 'field': return this.validateType(s, await this.evalFieldNode(s, dot, n, [n], MISSING), typ);
      case 'variable': return this.validateType(s, await this.evalVariableNode(s, dot, n, null, MISSING), typ);
      case 'pipe': return this.validateType(s, await this.evalPipeline(s, dot, n), typ);
      case 'identifier': return this.validateType(s, await this.evalFunction(s, dot, n, n, null, MISSING), typ);
      case 'chain': return this.validateType(s, await this.evalChainNode(s, dot, n, null, MISSING), typ);
    }
    s.node = n;
    if (typ === 'string') {
      if (n.type === 'string') return n.text;
      this.errorf(s, `expected string; found ${nodeString(n)}`);
    }
    if (typ === 'bool') {
      if (n.type === 'bool') return n.value;
      this.errorf(s, `expected bool; found ${nodeString(n)}`);
    }
    if (typ === 'int') {
      if (n.type === 'number' && n.isInt) return Number.isSafeInteger(Number(n.int64)) ? Number(n.int64) : n.int64;
      this.errorf(s, `expected integer; found ${nodeString(n)}`);
    }
    if (isCompositeType(typ)) this.errorf(s, `can't handle ${nodeString(n)} for arg of type ${typ}`);
    s.node = n;
    switch (n.type) {
      case 'bool': return n.value;
      case 'number': return this.idealConstant(s, n);
      case 'string': return n.text;
    }
    this.errorf(s, `can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(s: State, n: Node, v: unknown): void {
    s.node = n;
    if (v === undefined || v === null) {
      this.out += '<no value>';
      return;
    }
    if (kindOf(v) === 'func') this.errorf(s, `can't print ${nodeString(n)} of type ${typeString(v)}`);
    this.out += sprintValue(v);
  }
}
