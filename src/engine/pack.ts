/**
 * A flat numeric encoding for moving summaries between threads: one Float64Array, transferred without
 * copying, instead of a tree of objects that structured cloning would walk.
 */
export class PackWriter {
  private data: Float64Array;
  private n = 0;

  /** `size`: the numbers to be written, when known (see PackSizer), so that nothing is grown or copied. */
  constructor(size = 1024) {
    this.data = new Float64Array(size);
  }

  push(x: number): void {
    if (this.n === this.data.length) this.reserve(1);
    this.data[this.n++] = x;
  }

  pushAll(xs: ArrayLike<number>, from = 0, to = xs.length): void {
    const len = to - from;
    if (this.n + len > this.data.length) this.reserve(len);
    if (xs instanceof Float64Array) {
      this.data.set(from === 0 && to === xs.length ? xs : xs.subarray(from, to), this.n);
      this.n += len;
    } else for (let i = from; i < to; i++) this.data[this.n++] = xs[i]!;
  }

  private reserve(extra: number): void {
    const next = new Float64Array(Math.max(this.data.length * 2, this.n + extra));
    next.set(this.data.subarray(0, this.n));
    this.data = next;
  }

  finish(): Float64Array {
    return this.n === this.data.length ? this.data : this.data.slice(0, this.n);
  }
}

/** Counts what a PackWriter would be given, to size it exactly. */
export class PackSizer {
  size = 0;

  push(_x: number): void {
    this.size++;
  }

  pushAll(xs: ArrayLike<number>, from = 0, to = xs.length): void {
    this.size += to - from;
  }
}

/** What packing code writes to: a PackWriter, or a PackSizer first. */
export type PackSink = Pick<PackWriter, "push" | "pushAll">;

export class PackReader {
  pos = 0;
  constructor(readonly data: Float64Array) {}

  next(): number {
    if (this.pos >= this.data.length) throw new RangeError("packed summary ends early");
    return this.data[this.pos++]!;
  }

  /** The next `length` numbers, as a view (copy it to keep it beyond the packed array's life). */
  take(length: number): Float64Array {
    if (this.pos + length > this.data.length) throw new RangeError("packed summary ends early");
    const view = this.data.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }
}
