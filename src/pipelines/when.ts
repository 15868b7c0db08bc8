/**
 * A step's `when`: a small expression over run parameters, run facts and upstream results,
 * parsed by a hand-written recursive descent and evaluated by walking the tree. No `eval`, no
 * `Function`, no property access beyond the three declared roots (docs/pipelines.md, section 2).
 * A parser library (jsep, filtrex…) would need plugins for `and`/`or`/`in`/`empty` and brings its
 * own operators we would then have to refuse; the grammar is twelve rules.
 *
 * No imports: the orchestrator evaluates `when` (its values are replayed, so it decides the same).
 */

export type WhenRef =
  | { readonly root: 'param'; readonly name: string }
  | { readonly root: 'run'; readonly name: string }
  | { readonly root: 'steps'; readonly stepId: string; readonly path: readonly string[] };

type Literal = string | number | boolean | null;

export type WhenNode =
  | { readonly kind: 'literal'; readonly value: Literal }
  | { readonly kind: 'ref'; readonly ref: WhenRef; readonly text: string; readonly column: number }
  | { readonly kind: 'list'; readonly items: readonly WhenNode[] }
  | { readonly kind: 'empty'; readonly arg: WhenNode }
  | { readonly kind: 'not'; readonly arg: WhenNode }
  | { readonly kind: 'and' | 'or'; readonly left: WhenNode; readonly right: WhenNode }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: WhenNode; readonly right: WhenNode; readonly column: number };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

export type WhenParse = { readonly ok: true; readonly node: WhenNode } | { readonly ok: false; readonly message: string };

interface Token {
  readonly type: 'number' | 'string' | 'word' | 'op' | 'end';
  readonly text: string;
  readonly value?: string | number;
  /** 1-based column in the expression. */
  readonly column: number;
}

const WORD = /[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+))*/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', ','];

class WhenSyntaxError extends Error {}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) throw new WhenSyntaxError(`unterminated text starting at column ${column}`);
      tokens.push({ type: 'string', text: text.slice(i, end + 1), value: text.slice(i + 1, end), column });
      i = end + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = /[-\d]/.test(ch) ? NUMBER.exec(text) : null;
    if (number) {
      tokens.push({ type: 'number', text: number[0], value: Number(number[0]), column });
      i += number[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(text);
    if (word) {
      tokens.push({ type: 'word', text: word[0], column });
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw new WhenSyntaxError(`unexpected "${ch}" at column ${column}`);
    tokens.push({ type: 'op', text: op, column });
    i += op.length;
  }
  tokens.push({ type: 'end', text: 'the end', column: text.length + 1 });
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'empty', 'true', 'false', 'null']);

function readRef(text: string, column: number): WhenRef {
  const parts = text.split('.');
  const [root, second, ...rest] = parts;
  if (root === 'param' && second !== undefined && rest.length === 0) return { root: 'param', name: second };
  if (root === 'run' && second !== undefined && rest.length === 0) return { root: 'run', name: second };
  if (root === 'steps' && second !== undefined && rest.length > 0) return { root: 'steps', stepId: second, path: rest };
  throw new WhenSyntaxError(`"${text}" at column ${column} is not a value: use param.<name>, run.<fact> or steps.<id>.output|metrics.<path>`);
}

/** Parses a `when` expression; a syntax error names the column. */
export function parseWhen(text: string): WhenParse {
  try {
    const tokens = tokenize(text);
    let at = 0;
    const peek = (): Token => tokens[at] ?? { type: 'end', text: 'the end', column: text.length + 1 };
    const take = (): Token => {
      const token = peek();
      at++;
      return token;
    };
    const isWord = (t: Token, word: string) => t.type === 'word' && t.text === word;
    const expect = (op: string): void => {
      const t = take();
      if (t.type !== 'op' || t.text !== op) throw new WhenSyntaxError(`expected "${op}" at column ${t.column}, found ${t.text}`);
    };

    const operand = (): WhenNode => {
      const t = take();
      if (t.type === 'number') return { kind: 'literal', value: t.value as number };
      if (t.type === 'string') return { kind: 'literal', value: t.value as string };
      if (t.type === 'op' && t.text === '(') {
        const inner = or();
        expect(')');
        return inner;
      }
      if (t.type === 'op' && t.text === '[') {
        const items: WhenNode[] = [];
        if (!(peek().type === 'op' && peek().text === ']')) {
          items.push(operand());
          while (peek().type === 'op' && peek().text === ',') {
            take();
            items.push(operand());
          }
        }
        expect(']');
        return { kind: 'list', items };
      }
      if (t.type === 'word') {
        if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true' };
        if (t.text === 'null') return { kind: 'literal', value: null };
        if (t.text === 'empty') {
          expect('(');
          const arg = or();
          expect(')');
          return { kind: 'empty', arg };
        }
        if (!KEYWORDS.has(t.text)) return { kind: 'ref', ref: readRef(t.text, t.column), text: t.text, column: t.column };
      }
      throw new WhenSyntaxError(`expected a value at column ${t.column}, found ${t.type === 'end' ? 'the end' : `"${t.text}"`}`);
    };

    const comparison = (): WhenNode => {
      const left = operand();
      const t = peek();
      let op: CompareOp | undefined;
      if (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) op = t.text as CompareOp;
      else if (isWord(t, 'in')) op = 'in';
      else if (isWord(t, 'not') && isWord(tokens[at + 1] ?? t, 'in') && tokens[at + 1] !== undefined) op = 'not in';
      if (!op) return left;
      take();
      if (op === 'not in') take();
      return { kind: 'compare', op, left, right: operand(), column: t.column };
    };
    const not = (): WhenNode => {
      if (isWord(peek(), 'not')) {
        take();
        return { kind: 'not', arg: not() };
      }
      return comparison();
    };
    const and = (): WhenNode => {
      let left = not();
      while (isWord(peek(), 'and')) {
        take();
        left = { kind: 'and', left, right: not() };
      }
      return left;
    };
    const or = (): WhenNode => {
      let left = and();
      while (isWord(peek(), 'or')) {
        take();
        left = { kind: 'or', left, right: and() };
      }
      return left;
    };
    const node = or();
    const rest = peek();
    if (rest.type !== 'end') throw new WhenSyntaxError(`unexpected "${rest.text}" at column ${rest.column}`);
    return { ok: true, node };
  } catch (error) {
    if (error instanceof WhenSyntaxError) return { ok: false, message: error.message };
    throw error;
  }
}

/** Every reference in an expression, in reading order. */
export function whenReferences(node: WhenNode): Extract<WhenNode, { kind: 'ref' }>[] {
  switch (node.kind) {
    case 'literal':
      return [];
    case 'ref':
      return [node];
    case 'list':
      return node.items.flatMap(whenReferences);
    case 'empty':
    case 'not':
      return whenReferences(node.arg);
    default:
      return [...whenReferences(node.left), ...whenReferences(node.right)];
  }
}

/** Comparisons whose two sides are a reference and a literal: the load-time type check looks at them. */
export function whenComparisons(node: WhenNode): Extract<WhenNode, { kind: 'compare' }>[] {
  switch (node.kind) {
    case 'literal':
    case 'ref':
      return [];
    case 'list':
      return node.items.flatMap(whenComparisons);
    case 'empty':
    case 'not':
      return whenComparisons(node.arg);
    case 'compare':
      return [node, ...whenComparisons(node.left), ...whenComparisons(node.right)];
    default:
      return [...whenComparisons(node.left), ...whenComparisons(node.right)];
  }
}

/** An expression that cannot be evaluated with the run's values (a type mismatch, a missing value). */
export class WhenEvaluationError extends Error {
  override readonly name = 'WhenEvaluationError';
}

type Value = unknown;

function isEmpty(value: Value): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function truthy(value: Value): boolean {
  if (typeof value === 'boolean') return value;
  return !isEmpty(value) && value !== 0;
}

function sameJson(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b as object).sort();
  return sameJson(ka, kb) && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const describe = (value: Value): string => (value === undefined ? 'nothing' : Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`);

/**
 * Evaluates an expression. `lookup` gives a reference's value (`undefined`: the run has none, which
 * `empty()` and `==` treat as null and ordering comparisons refuse).
 */
export function evaluateWhen(node: WhenNode, lookup: (ref: WhenRef) => Value): boolean {
  const value = (n: WhenNode): Value => {
    switch (n.kind) {
      case 'literal':
        return n.value;
      case 'ref':
        return lookup(n.ref) ?? null;
      case 'list':
        return n.items.map(value);
      case 'empty':
        return isEmpty(value(n.arg));
      case 'not':
        return !truthy(value(n.arg));
      case 'and':
        return truthy(value(n.left)) && truthy(value(n.right));
      case 'or':
        return truthy(value(n.left)) || truthy(value(n.right));
      case 'compare':
        return compare(n.op, value(n.left), value(n.right), n.column);
    }
  };
  return truthy(value(node));
}

function compare(op: CompareOp, left: Value, right: Value, column: number): boolean {
  switch (op) {
    case '==':
      return sameJson(left, right);
    case '!=':
      return !sameJson(left, right);
    case 'in':
    case 'not in': {
      let found: boolean;
      if (Array.isArray(right)) found = right.some((item) => sameJson(item, left));
      else if (typeof right === 'string' && typeof left === 'string') found = right.includes(left);
      else throw new WhenEvaluationError(`"${op}" at column ${column} needs a list (or text) on its right, got ${describe(right)}`);
      return op === 'in' ? found : !found;
    }
    default: {
      const bothNumbers = typeof left === 'number' && typeof right === 'number';
      const bothText = typeof left === 'string' && typeof right === 'string';
      if (!bothNumbers && !bothText) throw new WhenEvaluationError(`"${op}" at column ${column} compares two numbers or two texts, got ${describe(left)} and ${describe(right)}`);
      const [a, b] = [left, right];
      if (op === '<') return a < b;
      if (op === '<=') return a <= b;
      if (op === '>') return a > b;
      return a >= b;
    }
  }
}
