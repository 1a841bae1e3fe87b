import { mix32 } from "./rng.js";

/**
 * A keyed pseudo-random permutation of [0, n), computed one index at a time (a 4-round balanced Feistel
 * network with cycle-walking). Latin hypercube designs use it to give each param its own shuffled strata
 * without storing an n-sized permutation, so any chunk of runs can compute its own draws.
 */
export function permuteIndex(i: number, n: number, key: number): number {
  if (n <= 1) return 0;
  let bits = Math.ceil(Math.log2(n));
  if (bits % 2) bits++;
  const half = bits / 2;
  const mask = (1 << half) - 1;
  let x = i;
  do {
    let left = x >>> half;
    let right = x & mask;
    for (let round = 0; round < 4; round++) {
      const f = mix32(right ^ key ^ Math.imul(round + 1, 0x9e3779b9)) & mask;
      const next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << half) | right;
  } while (x >= n);
  return x;
}
