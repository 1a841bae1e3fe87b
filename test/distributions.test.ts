import betaCdfOracle from "@stdlib/stats-base-dists-beta-cdf";
import normalCdfOracle from "@stdlib/stats-base-dists-normal-cdf";
import { describe, expect, it } from "vitest";
import { betaQuantile, quantile } from "../src/engine/distributions.js";
import type { Distribution } from "../src/model/distribution.js";

/** The doubles next to x, below and above. */
function neighbours(x: number): [number, number] {
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  const down = new Float64Array(new BigInt64Array([bits[0]! - 1n]).buffer)[0]!;
  const up = new Float64Array(new BigInt64Array([bits[0]! + 1n]).buffer)[0]!;
  return [down, up];
}

const SHAPES = [0.1, 0.3, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 100, 300];
const LEVELS = [
  1e-12,
  1e-9,
  1e-6,
  1e-4,
  1e-3,
  0.01,
  0.05,
  0.25,
  0.5,
  0.75,
  0.95,
  0.99,
  0.999,
  1 - 1e-6,
  1 - 1e-9,
  // Between the first-guess table's nodes (every 1/256), and in its outer intervals.
  ...Array.from({ length: 60 }, (_, i) => (i + 0.37) / 60),
  0.5 / 256,
  255.5 / 256,
];

describe("inverse CDFs against @stdlib's CDFs", () => {
  it("beta: |CDF(q(u)) − u| within 1e-11 relative, or within the CDF's step between neighbouring doubles", () => {
    let checked = 0;
    for (const a of SHAPES)
      for (const b of SHAPES) {
        const d: Distribution = { kind: "beta", alpha: a, beta: b };
        for (const u of LEVELS) {
          const x = quantile(d, u);
          expect(x, `beta(${a}, ${b}) at ${u}`).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(1);
          const error = Math.abs(betaCdfOracle(x, a, b) - u);
          // Where q(u) is not a double (deep tails of small shapes), the best answer is off by the CDF's step.
          const [down, up] = neighbours(x);
          const step = x > 0 && x < 1 ? Math.abs(betaCdfOracle(up, a, b) - betaCdfOracle(down, a, b)) : 1;
          const bound = 1e-11 * Math.min(u, 1 - u) + 2 * step + 1e-15;
          expect(error, `beta(${a}, ${b}) at u = ${u}: x = ${x}`).toBeLessThanOrEqual(bound);
          checked++;
        }
      }
    expect(checked).toBe(SHAPES.length ** 2 * LEVELS.length);
  });

  it("pert is a scaled beta with the same accuracy", () => {
    for (const [min, mode, max] of [
      [0, 1, 4],
      [10, 11, 100],
      [-5, 4.9, 5],
    ] as const) {
      const d: Distribution = { kind: "pert", min, mode, max };
      const a = 1 + (4 * (mode - min)) / (max - min);
      const b = 1 + (4 * (max - mode)) / (max - min);
      for (const u of LEVELS.filter((u) => u >= 1e-6 && u <= 1 - 1e-6)) {
        const x = (quantile(d, u) - min) / (max - min);
        expect(Math.abs(betaCdfOracle(x, a, b) - u), `pert(${min}, ${mode}, ${max}) at ${u}`).toBeLessThan(
          1e-12,
        );
      }
    }
  });

  it("normal and lognormal: |CDF(q(u)) − u| within 1e-14 relative", () => {
    const normal: Distribution = { kind: "normal", mean: 3, sd: 2 };
    const lognormal: Distribution = { kind: "lognormal", mu: 0.5, sigma: 1.2 };
    for (const u of LEVELS) {
      const tolerance = 1e-14 * Math.min(u, 1 - u) + 1e-16;
      expect(Math.abs(normalCdfOracle(quantile(normal, u), 3, 2) - u), `normal at ${u}`).toBeLessThan(
        tolerance * 10,
      );
      const z = (Math.log(quantile(lognormal, u)) - 0.5) / 1.2;
      expect(Math.abs(normalCdfOracle(z, 0, 1) - u), `lognormal at ${u}`).toBeLessThan(tolerance * 10);
    }
  });

  it("a draw depends on u alone: the same bits first, after many draws, and through betaQuantile", () => {
    const fresh = (): Distribution => ({ kind: "beta", alpha: 2.5, beta: 7 });
    const levels = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) / 500 + 0.0007);
    const warm = fresh();
    const after = levels.map((u) => quantile(warm, u));
    levels.forEach((u, i) => {
      expect(quantile(fresh(), u)).toBe(after[i]);
      expect(betaQuantile(u, 2.5, 7)).toBe(after[i]);
    });
  });
});
