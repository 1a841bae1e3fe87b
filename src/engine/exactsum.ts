import type { PackReader, PackSink } from "./pack.js";

/**
 * An exact floating-point sum (Shewchuk's non-overlapping partials, as in Python's math.fsum). Adding values
 * or merging accumulators in any order gives the same result to the last bit — which is what lets a Monte
 * Carlo job report identical means whatever the number of workers or chunks. Partials live in a small typed
 * array; sums of like-signed values rarely need more than two.
 */
/** The partial left over by the last `absorb` call (a module variable, so the hot path allocates nothing). */
let carried = 0;

/**
 * Shewchuk's grow-expansion step: add x to the n partials at p[base…], in place. Returns how many partials are
 * kept below the new top one, which is left in `carried` for the caller to store (it may need room first).
 */
function absorb(p: Float64Array, base: number, n: number, x: number): number {
  let i = 0;
  for (let j = 0; j < n; j++) {
    let y = p[base + j]!;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) p[base + i++] = lo;
    x = hi;
  }
  carried = x;
  return i;
}

export class ExactSum {
  private p = new Float64Array(4);
  private n = 0;
  /** Non-finite values are tracked apart, so they cannot corrupt the partials. */
  private special = 0;

  add(x: number): void {
    if (x - x !== 0) {
      this.special += x;
      return;
    }
    const p = this.p;
    const i = absorb(p, 0, this.n, x);
    x = carried;
    if (i === p.length) {
      const grown = new Float64Array(p.length * 2);
      grown.set(p);
      this.p = grown;
    }
    this.p[i] = x;
    this.n = i + 1;
  }

  merge(other: ExactSum): void {
    for (let j = 0; j < other.n; j++) this.add(other.p[j]!);
    this.special += other.special;
  }

  /**
   * The partials in canonical form: the same list for the same exact value, however it was reached. Each
   * partial is the correctly rounded value of what the larger ones leave, listed smallest first (as `add`
   * keeps them). Different additions leave different but equal partials; saved files must not show that.
   */
  canonical(): number[] {
    const rest = new ExactSum();
    for (let j = 0; j < this.n; j++) rest.add(this.p[j]!);
    const out: number[] = [];
    for (;;) {
      const top = rest.value();
      if (top === 0) break;
      out.push(top);
      rest.add(-top);
    }
    return out.reverse();
  }

  pack(w: PackSink): void {
    const parts = this.canonical();
    w.push(parts.length);
    w.pushAll(parts);
    w.push(this.special);
  }

  mergePacked(r: PackReader): void {
    const n = r.next();
    for (let j = 0; j < n; j++) this.add(r.next());
    this.special += r.next();
  }

  /** The sum, correctly rounded to the nearest double. */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const p = this.p;
    let n = this.n;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Correct the rounding when the partials left over push the result across a rounding boundary.
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  toJSON(): number[] {
    const parts = this.canonical();
    return this.special !== 0 || Number.isNaN(this.special) ? [...parts, this.special] : parts;
  }

  static fromJSON(parts: number[]): ExactSum {
    const s = new ExactSum();
    for (const x of parts) s.add(x);
    return s;
  }
}

/** Veltkamp's splitter for doubles: 2^27 + 1. */
const SPLITTER = 134217729;

/**
 * The rounding error of p = a·b (Dekker's two-product: a·b = p + error exactly, when nothing overflows), so a
 * product can be added to an exact sum as two doubles and stay exact.
 */
export function productError(a: number, b: number, p: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const e = ah * bh - p + ah * bl + al * bh + al * bl;
  return Number.isFinite(e) ? e : 0;
}

/** Add a·b to an exact sum, exactly: the rounded product and its rounding error. */
export function addProduct(sum: ExactSum, a: number, b: number): void {
  const p = a * b;
  sum.add(p);
  if (p - p === 0) {
    const e = productError(a, b, p);
    if (e !== 0) sum.add(e);
  }
}

const SLOTS = 4;
const SPILLED = 255;

/**
 * Many exact sums side by side in one typed array (SLOTS partials each), for the summary's hot loop: far
 * better cache behaviour than one object per sum. A sum needing more partials spills to an ExactSum.
 */
export class ExactSumArray {
  private readonly partials: Float64Array;
  private readonly lengths: Uint8Array;
  private readonly special: Float64Array;
  private readonly spilled = new Map<number, ExactSum>();

  constructor(readonly size: number) {
    this.partials = new Float64Array(size * SLOTS);
    this.lengths = new Uint8Array(size);
    this.special = new Float64Array(size);
  }

  add(c: number, x: number): void {
    if (x - x !== 0) {
      this.special[c]! += x;
      return;
    }
    const n = this.lengths[c]!;
    if (n === SPILLED) {
      this.spilled.get(c)!.add(x);
      return;
    }
    const p = this.partials;
    const base = c * SLOTS;
    const i = absorb(p, base, n, x);
    x = carried;
    if (i < SLOTS) {
      p[base + i] = x;
      this.lengths[c] = i + 1;
      return;
    }
    const spill = new ExactSum();
    for (let j = 0; j < SLOTS; j++) spill.add(p[base + j]!);
    spill.add(x);
    this.spilled.set(c, spill);
    this.lengths[c] = SPILLED;
  }

  /** The exact sum c as a standalone ExactSum. */
  get(c: number): ExactSum {
    const out = new ExactSum();
    const n = this.lengths[c]!;
    if (n === SPILLED) out.merge(this.spilled.get(c)!);
    else for (let j = 0; j < n; j++) out.add(this.partials[c * SLOTS + j]!);
    if (this.special[c] !== 0) out.add(this.special[c]!);
    return out;
  }

  value(c: number): number {
    return this.get(c).value();
  }

  mergeInto(c: number, other: ExactSum): void {
    for (const x of other.toJSON()) this.add(c, x);
  }

  pack(c: number, w: PackSink): void {
    this.get(c).pack(w);
  }

  mergePacked(c: number, r: PackReader): void {
    const n = r.next();
    for (let j = 0; j < n; j++) this.add(c, r.next());
    this.add(c, r.next());
  }
}
