/**
 * The parse tree of a template (text/template/parse's node kinds), and each node's String() as Go
 * writes it: execution errors quote it as their context ("executing "t" at <.Foo.Bar>: …").
 */
import { quote } from './strconv.js';

export interface NodeBase { pos: number }

export interface ListNode extends NodeBase { type: 'list'; nodes: Node[] }
export interface TextNode extends NodeBase { type: 'text'; text: string }
export interface CommentNode extends NodeBase { type: 'comment'; text: string }
export interface PipeNode extends NodeBase { type: 'pipe'; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export interface ActionNode extends NodeBase { type: 'action'; line: number; pipe: PipeNode }
export interface CommandNode extends NodeBase { type: 'command'; args: Node[] }
export interface IdentifierNode extends NodeBase { type: 'identifier'; ident: string }
export interface VariableNode extends NodeBase { type: 'variable'; ident: string[] }
export interface DotNode extends NodeBase { type: 'dot' }
export interface NilNode extends NodeBase { type: 'nil' }
export interface FieldNode extends NodeBase { type: 'field'; ident: string[] }
export interface ChainNode extends NodeBase { type: 'chain'; node: Node; field: string[] }
export interface BoolNode extends NodeBase { type: 'bool'; value: boolean }
export interface NumberNode extends NodeBase {
  type: 'number';
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
  /** Real and imaginary parts of a complex constant. */
  complex: [number, number];
  text: string;
}
export interface StringNode extends NodeBase { type: 'string'; quoted: string; text: string }
export interface EndNode extends NodeBase { type: 'end' }
export interface ElseNode extends NodeBase { type: 'else'; line: number }
export interface BranchNode extends NodeBase {
  type: 'if' | 'range' | 'with';
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface TemplateNode extends NodeBase { type: 'template'; line: number; name: string; pipe: PipeNode | null }
export interface BreakNode extends NodeBase { type: 'break'; line: number }
export interface ContinueNode extends NodeBase { type: 'continue'; line: number }

export type Node =
  | ListNode | TextNode | CommentNode | PipeNode | ActionNode | CommandNode | IdentifierNode
  | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | NumberNode | StringNode
  | EndNode | ElseNode | BranchNode | TemplateNode | BreakNode | ContinueNode;

/** Go's Node.String(). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list': return n.nodes.map(nodeString).join('');
    case 'text': return n.text;
    case 'comment': return `{{${n.text}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) {
        s += n.decl.map(nodeString).join(', ');
        s += n.isAssign ? ' = ' : ' := ';
      }
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'action': return `{{${nodeString(n.pipe)}}}`;
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'identifier': return n.ident;
    case 'variable': return n.ident.join('.');
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'field': return n.ident.map((id) => `.${id}`).join('');
    case 'chain': {
      const head = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return head + n.field.map((f) => `.${f}`).join('');
    }
    case 'bool': return n.value ? 'true' : 'false';
    case 'number': return n.text;
    case 'string': return n.quoted;
    case 'end': return '{{end}}';
    case 'else': return '{{else}}';
    case 'if': case 'range': case 'with': {
      let s = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += `{{else}}${nodeString(n.elseList)}`;
      return `${s}{{end}}`;
    }
    case 'template':
      return `{{template ${quote(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ''}}}`;
    case 'break': return '{{break}}';
    case 'continue': return '{{continue}}';
  }
}
