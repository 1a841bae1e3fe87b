/**
 * Sobol' low-discrepancy points addressable by index (Joe–Kuo direction numbers, Gray-code order), with an
 * optional random digital shift. Any point is computed from its index alone, so a design of 10⁷ points can be
 * split over workers and machines by index range and every part agrees on every point.
 */
import { hashUniform, mix32 } from "../engine/rng.js";
import { JOE_KUO_DIMENSIONS, JOE_KUO_TABLE } from "./joe-kuo.js";

const BITS = 32;
/** 2⁻³², the weight of a direction number's lowest bit. */
const UNIT = 2 ** -BITS;

export const SOBOL_MAX_DIMENSIONS = JOE_KUO_DIMENSIONS;

let parsedTable: { poly: number; m: number[] }[] | undefined;

function table(): { poly: number; m: number[] }[] {
  parsedTable ??= JOE_KUO_TABLE.split(",").map((entry) => {
    const [poly, ...m] = entry.split(" ").map((x) => Number.parseInt(x, 36));
    return { poly: poly!, m };
  });
  return parsedTable;
}

/** The 32 direction numbers of dimension d (0-based), as unsigned 32-bit integers. */
function directions(d: number): Uint32Array {
  const v = new Uint32Array(BITS);
  if (d === 0) {
    for (let k = 0; k < BITS; k++) v[k] = 2 ** (BITS - 1 - k);
    return v;
  }
  const { poly, m } = table()[d - 1]!;
  const s = m.length;
  for (let k = 0; k < Math.min(s, BITS); k++) v[k] = (m[k]! * 2 ** (BITS - 1 - k)) >>> 0;
  for (let k = s; k < BITS; k++) {
    let x = (v[k - s]! ^ (v[k - s]! >>> s)) >>> 0;
    // Middle coefficients of the polynomial: bit s−j of poly multiplies v[k−j].
    for (let j = 1; j < s; j++) if ((poly >>> (s - j)) & 1) x = (x ^ v[k - j]!) >>> 0;
    v[k] = x;
  }
  return v;
}

export class SobolSequence {
  private readonly v: Uint32Array[];
  private readonly shift: Uint32Array;
  /** Half a cell, added to shifted points only, so none is exactly 0 (whose quantile is −∞). */
  private readonly centre: number;

  /**
   * `dimensions` coordinates per point; with a `shift` seed, every coordinate is XORed with a seeded random
   * 32-bit word (a random digital shift: each point is uniform, the set keeps its net structure), and `stream`
   * picks an independent shift for the same seed.
   */
  constructor(
    readonly dimensions: number,
    options: { shift?: { seed: number; stream: number } } = {},
  ) {
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > SOBOL_MAX_DIMENSIONS)
      throw new RangeError(
        `a Sobol' sequence has 1 to ${SOBOL_MAX_DIMENSIONS} dimensions, not ${dimensions}`,
      );
    this.v = Array.from({ length: dimensions }, (_, d) => directions(d));
    const shift = options.shift;
    this.shift = Uint32Array.from({ length: dimensions }, (_, d) =>
      shift ? Math.floor(hashUniform(shift.seed, shift.stream, mix32(d + 0x51ed)) * 2 ** BITS) >>> 0 : 0,
    );
    this.centre = shift ? UNIT / 2 : 0;
  }

  /**
   * Point `index` (0 ≤ index < 2³²) into `out`. Unshifted, coordinates are the sequence's own dyadic values
   * (point 0 is the origin); shifted, each is centred in its 2⁻³² cell, so it lies strictly inside (0, 1).
   */
  point(index: number, out: Float64Array = new Float64Array(this.dimensions)): Float64Array {
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** BITS)
      throw new RangeError(`a Sobol' point index is a whole number below 2³², not ${index}`);
    const gray = (index ^ (index >>> 1)) >>> 0;
    for (let d = 0; d < this.dimensions; d++) {
      const v = this.v[d]!;
      let x = this.shift[d]!;
      for (let k = 0, g = gray; g !== 0; k++, g >>>= 1) if (g & 1) x ^= v[k]!;
      out[d] = (x >>> 0) * UNIT + this.centre;
    }
    return out;
  }
}
