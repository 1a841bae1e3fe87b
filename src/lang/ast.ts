/**
 * The expression AST. Every node keeps the offsets [pos, end) of its text inside the expression string,
 * so any later layer can point a diagnostic at the exact place.
 */
export type Expr = NumberLit | DateLit | NameRef | Unary | Binary | Conditional | Call;

interface Span {
  pos: number;
  end: number;
}

export interface NumberLit extends Span {
  kind: "number";
  value: number;
}

/** An ISO date such as 2026-01-01; turned into model time by the compiler. */
export interface DateLit extends Span {
  kind: "date";
  iso: string;
}

export interface NameRef extends Span {
  kind: "name";
  name: string;
}

export type UnaryOp = "-" | "+" | "not";
export interface Unary extends Span {
  kind: "unary";
  op: UnaryOp;
  arg: Expr;
}

/** `by`, `before`, `at` and `given` (written `|`) only appear inside claim functions (P, E, Q). */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "^"
  | "<"
  | "<="
  | ">"
  | ">="
  | "=="
  | "!="
  | "and"
  | "or"
  | "by"
  | "before"
  | "at"
  | "given";

export interface Binary extends Span {
  kind: "binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

export interface Conditional extends Span {
  kind: "if";
  cond: Expr;
  then: Expr;
  else: Expr;
}

export interface Call extends Span {
  kind: "call";
  callee: string;
  calleeEnd: number;
  args: Expr[];
}

/** The direct subexpressions of a node, left to right. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case "unary":
      return [e.arg];
    case "binary":
      return [e.left, e.right];
    case "if":
      return [e.cond, e.then, e.else];
    case "call":
      return e.args;
    default:
      return [];
  }
}

/** Visit every node of an expression, parents before children, left to right (without recursion). */
export function walk(root: Expr, visit: (e: Expr) => void): void {
  const stack: Expr[] = [root];
  while (stack.length) {
    const e = stack.pop()!;
    visit(e);
    const kids = children(e);
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]!);
  }
}

/** Print an expression back as canonical text (fully parenthesised where precedence needs it). */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case "number":
      return String(e.value);
    case "date":
      return e.iso;
    case "name":
      return e.name;
    case "unary":
      // Parenthesised whole, so that `-(x) ^ 2` or `not a + b` cannot rebind when re-parsed.
      return e.op === "not" ? `(not ${printExpr(e.arg)})` : `(${e.op}${printExpr(e.arg)})`;
    case "binary":
      return `(${printExpr(e.left)} ${e.op} ${printExpr(e.right)})`;
    case "if":
      return `(if ${printExpr(e.cond)} then ${printExpr(e.then)} else ${printExpr(e.else)})`;
    case "call":
      return `${e.callee}(${e.args.map(printExpr).join(", ")})`;
  }
}
