/**
 * A flat numeric encoding for moving summaries between threads: one Float64Array, transferred without
 * copying, instead of a tree of objects that structured cloning would walk.
 */
export class PackWriter {
  private data = new Float64Array(1024);
  private n = 0;

  push(x: number): void {
    if (this.n === this.data.length) this.reserve(1);
    this.data[this.n++] = x;
  }

  pushAll(xs: ArrayLike<number>, from = 0, to = xs.length): void {
    const len = to - from;
    if (this.n + len > this.data.length) this.reserve(len);
    for (let i = from; i < to; i++) this.data[this.n++] = xs[i]!;
  }

  private reserve(extra: number): void {
    const next = new Float64Array(Math.max(this.data.length * 2, this.n + extra));
    next.set(this.data.subarray(0, this.n));
    this.data = next;
  }

  finish(): Float64Array {
    return this.data.slice(0, this.n);
  }
}

export class PackReader {
  pos = 0;
  constructor(readonly data: Float64Array) {}

  next(): number {
    if (this.pos >= this.data.length) throw new RangeError("packed summary ends early");
    return this.data[this.pos++]!;
  }
}
