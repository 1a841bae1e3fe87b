import { type BinaryOp, children, type Expr } from "./ast.js";
import { ExprSyntaxError, type Token, tokenize } from "./lexer.js";

/** Deeper nesting than this is refused rather than risking the call stack on hostile input. */
const MAX_DEPTH = 200;

/**
 * The most levels an expression tree may have. Chains such as `a + b + c + …` parse in a loop but still make a
 * tree one level deeper per term, and every later walk (name resolution, units, lowering, code generation, the
 * interpreter) recurses down it: this bound is what keeps all of them off the end of the call stack.
 */
export const MAX_EXPRESSION_LEVELS = 1000;

/** Longer expression text than this is refused before it is tokenised. */
export const MAX_EXPRESSION_LENGTH = 100_000;

/**
 * Parse one expression. Precedence, loosest first:
 * if-then-else · or · and · not · comparison (non-associative) · + - · * / % · unary + - · ^ (right) · call/primary.
 * `by`/`before`/`at` bind loosest of all and are accepted only inside call arguments (claims use them).
 */
export function parseExpr(text: string): Expr {
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ExprSyntaxError(
      `this expression is ${text.length.toLocaleString("en")} characters long; the limit is ${MAX_EXPRESSION_LENGTH.toLocaleString("en")} — split it into vars`,
      0,
    );
  const p = new Parser(tokenize(text));
  if (p.peek().kind === "eof") throw new ExprSyntaxError("empty expression", 0);
  const e = p.expression();
  const t = p.peek();
  if (t.kind !== "eof")
    throw new ExprSyntaxError(`unexpected '${t.text}' after a complete expression`, t.pos);
  checkLevels(e);
  return e;
}

/** Refuse a tree deeper than MAX_EXPRESSION_LEVELS, pointing at the first node beyond it (iteratively). */
function checkLevels(root: Expr): void {
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length) {
    const [e, level] = stack.pop()!;
    if (level > MAX_EXPRESSION_LEVELS)
      throw new ExprSyntaxError(
        `this expression is more than ${MAX_EXPRESSION_LEVELS} levels deep (each operator in a chain such as a + b + c adds one) — split it into vars`,
        e.pos,
      );
    for (const child of children(e)) stack.push([child, level + 1]);
  }
}

const COMPARISONS = new Set(["<", "<=", ">", ">=", "==", "!="]);

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== "eof") this.i++;
    return t;
  }
  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === "keyword" && t.text === word;
  }
  private isOp(...ops: string[]): boolean {
    const t = this.peek();
    return t.kind === "op" && ops.includes(t.text);
  }
  private expectKeyword(word: string, context: string): void {
    const t = this.peek();
    if (!this.isKeyword(word))
      throw new ExprSyntaxError(`expected '${word}' ${context}, found ${describe(t)}`, t.pos);
    this.next();
  }
  private enter(pos: number): void {
    if (++this.depth > MAX_DEPTH)
      throw new ExprSyntaxError(`expression nested deeper than ${MAX_DEPTH} levels`, pos);
  }

  expression(): Expr {
    this.enter(this.peek().pos);
    try {
      if (this.isKeyword("if")) {
        const start = this.next().pos;
        const cond = this.expression();
        this.expectKeyword("then", "after the condition of 'if'");
        const then = this.expression();
        this.expectKeyword("else", "after 'if … then …' (every 'if' needs an 'else')");
        const otherwise = this.expression();
        return { kind: "if", cond, then, else: otherwise, pos: start, end: otherwise.end };
      }
      return this.or();
    } finally {
      this.depth--;
    }
  }

  /**
   * A call argument: an expression, optionally qualified by `by T`, `at T` or `before NAME`, and then by a
   * condition `| scenario = NAME` (claims use these).
   */
  private argument(): Expr {
    let e = this.expression();
    for (const word of ["by", "before", "at"] as const) {
      if (this.isKeyword(word)) {
        this.next();
        const right = this.expression();
        e = { kind: "binary", op: word, left: e, right, pos: e.pos, end: right.end };
        break;
      }
    }
    if (this.isOp("|")) {
      this.next();
      const condition = this.expression();
      e = { kind: "binary", op: "given", left: e, right: condition, pos: e.pos, end: condition.end };
    }
    return e;
  }

  private binary(op: BinaryOp, left: Expr, right: Expr): Expr {
    return { kind: "binary", op, left, right, pos: left.pos, end: right.end };
  }

  private or(): Expr {
    let left = this.and();
    while (this.isKeyword("or")) {
      this.next();
      left = this.binary("or", left, this.and());
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isKeyword("and")) {
      this.next();
      left = this.binary("and", left, this.not());
    }
    return left;
  }

  private not(): Expr {
    if (this.isKeyword("not")) {
      const start = this.next().pos;
      this.enter(start);
      try {
        const arg = this.not();
        return { kind: "unary", op: "not", arg, pos: start, end: arg.end };
      } finally {
        this.depth--;
      }
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.kind === "op" && COMPARISONS.has(t.text)) {
      this.next();
      const right = this.additive();
      const again = this.peek();
      if (again.kind === "op" && COMPARISONS.has(again.text)) {
        throw new ExprSyntaxError(
          `comparisons do not chain — write 'a ${t.text} b and b ${again.text} c' instead`,
          again.pos,
        );
      }
      return this.binary(t.text as BinaryOp, left, right);
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp("+", "-")) {
      const op = this.next().text as BinaryOp;
      left = this.binary(op, left, this.multiplicative());
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp("*", "/", "%")) {
      const op = this.next().text as BinaryOp;
      left = this.binary(op, left, this.unary());
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp("-", "+")) {
      const t = this.next();
      this.enter(t.pos);
      try {
        const arg = this.unary();
        return { kind: "unary", op: t.text as "-" | "+", arg, pos: t.pos, end: arg.end };
      } finally {
        this.depth--;
      }
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    if (this.isOp("^")) {
      this.next();
      // Right-associative, and the exponent may carry its own sign: 2^-1. Each '^' nests one level deeper.
      this.enter(this.peek().pos);
      try {
        const exponent = this.unary();
        return this.binary("^", base, exponent);
      } finally {
        this.depth--;
      }
    }
    return base;
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return { kind: "number", value: t.value!, pos: t.pos, end: t.end };
      case "date":
        return { kind: "date", iso: t.text, pos: t.pos, end: t.end };
      case "name": {
        if (this.peek().kind !== "(") return { kind: "name", name: t.text, pos: t.pos, end: t.end };
        this.next();
        const args: Expr[] = [];
        if (this.peek().kind !== ")") {
          for (;;) {
            args.push(this.argument());
            if (this.peek().kind === ",") {
              this.next();
              continue;
            }
            break;
          }
        }
        const close = this.peek();
        if (close.kind !== ")") {
          throw new ExprSyntaxError(
            `expected ',' or ')' in the call to '${t.text}', found ${describe(close)}`,
            close.pos,
          );
        }
        this.next();
        return { kind: "call", callee: t.text, calleeEnd: t.end, args, pos: t.pos, end: close.end };
      }
      case "(": {
        const inner = this.expression();
        const close = this.peek();
        if (close.kind !== ")")
          throw new ExprSyntaxError(`expected ')' to close '(' , found ${describe(close)}`, close.pos);
        this.next();
        return { ...inner, pos: t.pos, end: close.end };
      }
      case "keyword":
        throw new ExprSyntaxError(`'${t.text}' is a reserved word and cannot start a value here`, t.pos);
      case "eof":
        throw new ExprSyntaxError("the expression ends too early — a value is missing", t.pos);
      default:
        throw new ExprSyntaxError(`expected a value, found ${describe(t)}`, t.pos);
    }
  }
}

function describe(t: Token): string {
  return t.kind === "eof" ? "the end of the expression" : `'${t.text}'`;
}
