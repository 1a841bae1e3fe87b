/**
 * A mergeable quantile sketch with bounded relative error (the DDSketch construction of Masson, Rim and Lee,
 * VLDB 2019): values fall into logarithmic buckets of ratio γ = (1 + α)/(1 − α), so any quantile is returned
 * within relative error α of a value of that rank. Buckets only count, so merging adds counts: the result is
 * the same whatever the order or grouping of the inputs. Memory grows with the log of the value range, not
 * with the number of values.
 */
export const SKETCH_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const INV_LN_GAMMA = 1 / Math.log(GAMMA);
/** Magnitudes below this count as zero. */
const MIN_MAGNITUDE = 1e-12;

import type { PackReader, PackWriter } from "./pack.js";

/**
 * Counts for a contiguous range of bucket indices, grown on demand. 32-bit counts keep the arrays small,
 * which matters: inserting is bound by memory traffic, not arithmetic. A bucket holds at most 2^32 − 1 values.
 */
class BucketStore {
  offset = 0;
  counts = new Uint32Array(0);

  add(index: number, n: number): void {
    const i = index - this.offset;
    if (i >= 0 && i < this.counts.length) {
      this.counts[i]! += n;
      return;
    }
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts = new Uint32Array(16);
    } else this.grow(index);
    const at = index - this.offset;
    if (this.counts[at]! + n > 0xffffffff)
      throw new RangeError("a quantile-sketch bucket would exceed 2^32 − 1 values");
    this.counts[at]! += n;
  }

  private grow(index: number): void {
    const lo = Math.min(this.offset, index);
    const hi = Math.max(this.offset + this.counts.length - 1, index);
    // Grow by at least half again, with headroom on the side that grew, to keep resizes rare.
    const needed = hi - lo + 1;
    const size = Math.max(needed, Math.ceil(this.counts.length * 1.5));
    const newOffset = index < this.offset ? hi - size + 1 : lo;
    const next = new Uint32Array(size);
    next.set(this.counts, this.offset - newOffset);
    this.offset = newOffset;
    this.counts = next;
  }

  merge(other: BucketStore): void {
    const c = other.counts;
    for (let i = 0; i < c.length; i++) if (c[i]! > 0) this.add(other.offset + i, c[i]!);
  }

  pack(w: PackWriter): void {
    w.push(this.offset);
    w.push(this.counts.length);
    w.pushAll(this.counts);
  }

  mergePacked(r: PackReader): void {
    const offset = r.next();
    const len = r.next();
    for (let i = 0; i < len; i++) {
      const c = r.next();
      if (c > 0) this.add(offset + i, c);
    }
  }

  /** Non-empty buckets as [index, count] pairs, in increasing index order. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++)
      if (this.counts[i]! > 0) out.push([this.offset + i, this.counts[i]!]);
    return out;
  }
}

export interface SketchJSON {
  n: number;
  zero: number;
  min: number | null;
  max: number | null;
  pos: [number, number][];
  neg: [number, number][];
}

export class QuantileSketch {
  private readonly pos = new BucketStore();
  private readonly neg = new BucketStore();
  private zero = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(x: number): void {
    this.count++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (x > MIN_MAGNITUDE) this.pos.add(Math.ceil(Math.log(x) * INV_LN_GAMMA) | 0, 1);
    else if (x < -MIN_MAGNITUDE) this.neg.add(Math.ceil(Math.log(-x) * INV_LN_GAMMA) | 0, 1);
    else this.zero++;
  }

  merge(other: QuantileSketch): void {
    this.pos.merge(other.pos);
    this.neg.merge(other.neg);
    this.zero += other.zero;
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  pack(w: PackWriter): void {
    w.push(this.count);
    w.push(this.zero);
    w.push(this.min);
    w.push(this.max);
    this.pos.pack(w);
    this.neg.pack(w);
  }

  mergePacked(r: PackReader): void {
    this.count += r.next();
    this.zero += r.next();
    const min = r.next();
    const max = r.next();
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    this.pos.mergePacked(r);
    this.neg.mergePacked(r);
  }

  /** The value of rank q·(n − 1), within relative error α; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    let seen = 0;
    const clamp = (v: number) => Math.min(this.max, Math.max(this.min, v));
    const rep = (i: number) => (2 * GAMMA ** i) / (GAMMA + 1);
    // Negative values, most negative first: largest magnitude index first.
    const neg = this.neg.counts;
    for (let i = neg.length - 1; i >= 0; i--) {
      seen += neg[i]!;
      if (seen > rank) return clamp(-rep(this.neg.offset + i));
    }
    seen += this.zero;
    if (seen > rank) return clamp(0);
    const pos = this.pos.counts;
    for (let i = 0; i < pos.length; i++) {
      seen += pos[i]!;
      if (seen > rank) return clamp(rep(this.pos.offset + i));
    }
    return this.max;
  }

  toJSON(): SketchJSON {
    return {
      n: this.count,
      zero: this.zero,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
      pos: this.pos.entries(),
      neg: this.neg.entries(),
    };
  }

  static fromJSON(j: SketchJSON): QuantileSketch {
    const s = new QuantileSketch();
    s.count = j.n;
    s.zero = j.zero;
    s.min = j.min ?? Number.POSITIVE_INFINITY;
    s.max = j.max ?? Number.NEGATIVE_INFINITY;
    for (const [i, c] of j.pos) s.pos.add(i, c);
    for (const [i, c] of j.neg) s.neg.add(i, c);
    return s;
  }
}
