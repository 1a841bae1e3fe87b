import { describe, expect, it } from "vitest";
import { studentTCdf } from "../src/analysis/stats.js";
import { BUILTINS } from "../src/compile/builtins.js";
import { eventFirings, hazardProbability, normalCdf, normalQuantile } from "../src/compile/functions.js";
import { betaCdf, quantile } from "../src/engine/distributions.js";
import { ExactSum } from "../src/engine/exactsum.js";
import { PackReader, PackWriter } from "../src/engine/pack.js";
import { hashName, hashUniform, SiteStreams } from "../src/engine/rng.js";
import { Runner } from "../src/engine/run.js";
import { RankSketches } from "../src/engine/sketch.js";
import { type Distribution, parseDistribution } from "../src/model/distribution.js";
import { prepareText } from "./helpers.js";

const N = 1_000_000;
/** Kolmogorov–Smirnov critical value at the 0.1% level for n draws. */
const KS_CRITICAL = 1.9495 / Math.sqrt(N);

function ks(sample: Float64Array, cdf: (x: number) => number): number {
  sample.sort();
  let d = 0;
  for (let i = 0; i < sample.length; i++) {
    const f = cdf(sample[i]!);
    d = Math.max(d, f - i / sample.length, (i + 1) / sample.length - f);
  }
  return d;
}

const normal = (m: number, s: number) => (x: number) => normalCdf((x - m) / s);

/** Param distributions, drawn as params are (inverse transform of hashed uniforms), with their CDFs. */
const PARAMS: [string, (x: number) => number][] = [
  ["normal(2, 3)", normal(2, 3)],
  ["lognormal(0.5, 0.4)", (x) => (x <= 0 ? 0 : normalCdf((Math.log(x) - 0.5) / 0.4))],
  ["uniform(-1, 4)", (x) => Math.min(1, Math.max(0, (x + 1) / 5))],
  ["beta(2, 5)", (x) => betaCdf(x, 2, 5)],
  [
    "triangular(0, 1, 4)",
    (x) => (x <= 0 ? 0 : x >= 4 ? 1 : x < 1 ? (x * x) / 4 : 1 - ((4 - x) * (4 - x)) / 12),
  ],
  ["pert(0, 1, 4)", (x) => betaCdf(x / 4, 1 + 4 * (1 / 4), 1 + 4 * (3 / 4))],
  [
    "8 to 20",
    (x) =>
      normalCdf(
        (Math.log(x) - (Math.log(8) + Math.log(20)) / 2) /
          ((Math.log(20) - Math.log(8)) / (2 * 1.6448536269514722)),
      ),
  ],
  ["-2 to 6", normal(2, 8 / (2 * 1.6448536269514722))],
];

describe("param distributions over 10⁶ draws (Kolmogorov–Smirnov at 0.1%)", () => {
  for (const [text, cdf] of PARAMS) {
    it(text, () => {
      const dist: Distribution = parseDistribution(text);
      const key = hashName(`param:${text}`);
      const sample = new Float64Array(N);
      for (let i = 0; i < N; i++) sample[i] = quantile(dist, hashUniform(77, i, key));
      expect(ks(sample, cdf)).toBeLessThan(KS_CRITICAL);
    });
  }
});

describe("per-step random draws over 10⁶ draws", () => {
  const draw = (fn: string, args: number[], seed = 3) => {
    const streams = new SiteStreams(["site"]);
    streams.reset(seed, 0);
    const b = BUILTINS.get(fn);
    if (b?.kind !== "random") throw new Error(`${fn} is not a random builtin`);
    const f = b.fn;
    const out = new Float64Array(N);
    for (let i = 0; i < N; i++) out[i] = f(streams, 0, ...args);
    return out;
  };
  const moments = (xs: Float64Array) => {
    let m = 0;
    for (const x of xs) m += x;
    m /= xs.length;
    let v = 0;
    for (const x of xs) v += (x - m) * (x - m);
    return { mean: m, variance: v / (xs.length - 1) };
  };

  it("uniform, normal, lognormal and exponential pass Kolmogorov–Smirnov", () => {
    expect(ks(draw("uniform", [2, 5]), (x) => Math.min(1, Math.max(0, (x - 2) / 3)))).toBeLessThan(
      KS_CRITICAL,
    );
    expect(ks(draw("normal", [-1, 2]), normal(-1, 2))).toBeLessThan(KS_CRITICAL);
    expect(ks(draw("lognormal", [0, 0.5]), (x) => normalCdf(Math.log(x) / 0.5))).toBeLessThan(KS_CRITICAL);
    expect(ks(draw("exponential", [3]), (x) => 1 - Math.exp(-x / 3))).toBeLessThan(KS_CRITICAL);
  });

  it("bernoulli and poisson have the right moments (within 4 standard errors)", () => {
    const b = moments(draw("bernoulli", [0.3]));
    expect(Math.abs(b.mean - 0.3)).toBeLessThan(4 * Math.sqrt(0.21 / N));
    for (const mean of [0.7, 12, 55, 400]) {
      const p = moments(draw("poisson", [mean]));
      expect(Math.abs(p.mean - mean), `poisson(${mean}) mean`).toBeLessThan(4 * Math.sqrt(mean / N));
      // The variance of a sample variance of a Poisson is about (μ + 2μ²)/n.
      expect(Math.abs(p.variance - mean), `poisson(${mean}) variance`).toBeLessThan(
        4 * Math.sqrt((mean + 2 * mean * mean) / N),
      );
    }
  });

  it("gamma passes Kolmogorov–Smirnov below and above shape 1, and scales", () => {
    // Chi-square with 1 and 3 degrees of freedom are gamma(1/2, 2) and gamma(3/2, 2); integer shapes are Erlang.
    const chi1 = (x: number) => (x <= 0 ? 0 : 2 * normalCdf(Math.sqrt(x)) - 1);
    const chi3 = (x: number) =>
      x <= 0 ? 0 : 2 * normalCdf(Math.sqrt(x)) - 1 - Math.sqrt((2 * x) / Math.PI) * Math.exp(-x / 2);
    const erlang = (k: number, scale: number) => (x: number) => {
      if (x <= 0) return 0;
      let term = Math.exp(-x / scale);
      let below = term;
      for (let n = 1; n < k; n++) {
        term *= x / scale / n;
        below += term;
      }
      return 1 - below;
    };
    expect(ks(draw("gamma", [0.5, 2]), chi1)).toBeLessThan(KS_CRITICAL);
    expect(ks(draw("gamma", [1.5, 2]), chi3)).toBeLessThan(KS_CRITICAL);
    expect(ks(draw("gamma", [3, 0.25]), erlang(3, 0.25))).toBeLessThan(KS_CRITICAL);
    expect(ks(draw("gamma", [40, 1.5]), erlang(40, 1.5))).toBeLessThan(KS_CRITICAL);
    expect(draw("gamma", [2, 0]).every((x) => x === 0)).toBe(true);
  });

  it("student passes Kolmogorov–Smirnov from the Cauchy (df 1) to near-normal tails", () => {
    expect(ks(draw("student", [1]), (x) => 0.5 + Math.atan(x) / Math.PI)).toBeLessThan(KS_CRITICAL);
    for (const df of [4, 30]) {
      expect(
        ks(draw("student", [df]), (x) => studentTCdf(x, df)),
        `df ${df}`,
      ).toBeLessThan(KS_CRITICAL);
    }
    // A fractional df through the incomplete beta: P(|T| > t) = I(df/(df + t²); df/2, 1/2).
    const tail = (x: number) => 0.5 * betaCdf(2.5 / (2.5 + x * x), 1.25, 0.5);
    expect(ks(draw("student", [2.5]), (x) => (x > 0 ? 1 - tail(x) : tail(x)))).toBeLessThan(KS_CRITICAL);
    const wide = moments(draw("student", [30]));
    // df/(df − 2) = 1.0714; the sample variance's sd is about 0.002 here.
    expect(wide.variance).toBeCloseTo(30 / 28, 2);
  });

  it("poisson probabilities match the pmf (chi-square)", () => {
    const mean = 4;
    const xs = draw("poisson", [mean]);
    const counts = new Array(13).fill(0);
    for (const x of xs) counts[Math.min(12, x)]++;
    let chi = 0;
    let pmf = Math.exp(-mean);
    let tail = 1;
    for (let k = 0; k < 12; k++) {
      chi += (counts[k] - N * pmf) ** 2 / (N * pmf);
      tail -= pmf;
      pmf *= mean / (k + 1);
    }
    chi += (counts[12] - N * tail) ** 2 / (N * tail);
    // 12 degrees of freedom: the 0.1% critical value is 32.9.
    expect(chi).toBeLessThan(32.9);
  });
});

describe("repeating rate events are Poisson processes", () => {
  /** The number of firings of a `rate` event over a horizon, counted by a stock its `then` raises by one. */
  const firings = (
    rate: number,
    dt: number,
    steps: number,
    runs: number,
    backend: "kernel" | "interpreter",
  ) => {
    const model = prepareText(
      [
        "brink: 1",
        "name: ticks",
        `time: { start: 0, stop: ${steps * dt}, dt: ${dt}, save: ${steps * dt} }`,
        "stocks: { count: 0 }",
        `events: { tick: { rate: ${rate}, then: { count: count + 1 } } }`,
        "track: [count]",
      ].join("\n"),
    );
    const runner = new Runner(model, 7, backend);
    const out = new Float64Array(runs);
    for (let run = 0; run < runs; run++) {
      const end = runner.run(run);
      out[run] = runner.saved[end.saves - 1]!;
    }
    return out;
  };

  it("the count over T has the mean and variance of Poisson(rate·T), for rate·dt from 0.05 to 40", () => {
    const runs = 40_000;
    // rate·dt: 0.05, 0.5, 2, 5 (inverting the tail) and 40 (the rejection sampler).
    for (const [rate, dt] of [
      [0.05, 1],
      [2, 0.25],
      [2, 1],
      [5, 1],
      [10, 4],
    ] as const) {
      const steps = 20;
      const mean = rate * dt * steps;
      const xs = firings(rate, dt, steps, runs, "kernel");
      let m = 0;
      for (const x of xs) m += x;
      m /= runs;
      let v = 0;
      for (const x of xs) v += (x - m) ** 2;
      v /= runs - 1;
      expect(xs.every(Number.isInteger)).toBe(true);
      expect(Math.abs(m - mean), `rate·dt = ${rate * dt}: mean`).toBeLessThan(4 * Math.sqrt(mean / runs));
      expect(Math.abs(v - mean), `rate·dt = ${rate * dt}: variance`).toBeLessThan(
        4 * Math.sqrt((mean + 2 * mean * mean) / runs),
      );
    }
  });

  it("3 a week over 52 weekly steps fires about 156 times, not at most 52", () => {
    const xs = firings(3, 1, 52, 2000, "kernel");
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(m - 156)).toBeLessThan(4 * Math.sqrt(156 / xs.length));
    expect(Math.max(...xs)).toBeGreaterThan(52);
  });

  it("the interpreter counts the same firings as the kernel, run by run", () => {
    for (const [rate, dt] of [
      [0.3, 1],
      [5, 1],
      [10, 4],
    ] as const) {
      expect(firings(rate, dt, 10, 300, "interpreter")).toEqual(firings(rate, dt, 10, 300, "kernel"));
    }
  });

  it("a step that fires at most once draws what a terminal outcome would (u < 1 − exp(−rate·dt))", () => {
    const streams = new SiteStreams(["tick"]);
    const again = new SiteStreams(["tick"]);
    for (const rate of [0.01, 0.4, 3]) {
      streams.reset(5, 1);
      again.reset(5, 1);
      for (let i = 0; i < 10_000; i++) {
        const n = eventFirings(rate, 1, streams, 0);
        const fires = again.uniform(0) < hazardProbability(rate, 1);
        expect(n >= 1).toBe(fires);
      }
    }
  });
});

describe("independent streams", () => {
  const correlation = (a: Float64Array, b: Float64Array) => {
    let ma = 0;
    let mb = 0;
    for (let i = 0; i < a.length; i++) {
      ma += a[i]!;
      mb += b[i]!;
    }
    ma /= a.length;
    mb /= b.length;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i]! - ma) * (b[i]! - mb);
      saa += (a[i]! - ma) ** 2;
      sbb += (b[i]! - mb) ** 2;
    }
    return sab / Math.sqrt(saa * sbb);
  };
  const bound = 4 / Math.sqrt(N);

  it("neighbouring runs, neighbouring seeds and neighbouring sites do not correlate", () => {
    const s = new SiteStreams(["a", "b"]);
    const first = (seed: number, run: number, site: number, k: number) => {
      s.reset(seed, run);
      const out = new Float64Array(k);
      for (let i = 0; i < k; i++) out[i] = s.uniform(site);
      return out;
    };
    // The i-th draw of run r against that of run r + 1, over many runs.
    const runs = 100_000;
    const a = new Float64Array(runs * 10);
    const b = new Float64Array(runs * 10);
    for (let r = 0; r < runs; r++) {
      a.set(first(1, r, 0, 10), r * 10);
      b.set(first(1, r + 1, 0, 10), r * 10);
    }
    expect(Math.abs(correlation(a, b))).toBeLessThan(bound * Math.sqrt(N / a.length));
    // Seeds s and s + 1, and sites a and b, for the same run.
    const c = new Float64Array(runs);
    const d = new Float64Array(runs);
    const e = new Float64Array(runs);
    for (let r = 0; r < runs; r++) {
      c[r] = first(r, 0, 0, 1)[0]!;
      d[r] = first(r + 1, 0, 0, 1)[0]!;
      e[r] = first(r, 0, 1, 1)[0]!;
    }
    expect(Math.abs(correlation(c, d))).toBeLessThan(4 / Math.sqrt(runs));
    expect(Math.abs(correlation(c, e))).toBeLessThan(4 / Math.sqrt(runs));
  });

  it("consecutive draws of one stream do not correlate, and fill (0, 1) evenly", () => {
    const s = new SiteStreams(["a"]);
    s.reset(9, 9);
    const xs = new Float64Array(N);
    for (let i = 0; i < N; i++) xs[i] = s.uniform(0);
    expect(Math.abs(correlation(xs.subarray(0, N - 1), xs.subarray(1)))).toBeLessThan(bound);
    expect(ks(Float64Array.from(xs), (x) => x)).toBeLessThan(KS_CRITICAL);
  });
});

describe("mergeable statistics", () => {
  /** Sketches of one cell (out of `cells`, so that leaves are small) fed `values` as runs first … . */
  const sketchOf = (values: Float64Array, cells: number, first = 0, step = 64) => {
    const sketch = new RankSketches(cells);
    for (let a = first; a < first + values.length; ) {
      // Runs go in as the summary adds them: in aligned blocks, never across a leaf's edge.
      const n = Math.min(step - (a % step), first + values.length - a);
      sketch.addRuns(a, n, (c, b) => (c === 0 ? values[a - first + b]! : undefined));
      a += n;
    }
    return sketch;
  };
  /** Where v stands among the sorted values: how many are below it and how many at most it. */
  const rankOf = (sorted: Float64Array, v: number) => {
    let below = 0;
    let atMost = 0;
    for (const x of sorted) {
      if (x < v) below++;
      if (x <= v) atMost++;
    }
    return { below, atMost };
  };
  const draws = (n: number, f: (u: number, i: number) => number, seed = 1) => {
    const s = new SiteStreams(["x"]);
    s.reset(seed, 1);
    return Float64Array.from({ length: n }, (_, i) => f(s.uniform(0), i));
  };

  it("quantiles of levels and of near-zero values are exact order statistics up to the leaf size", () => {
    const level = draws(20_000, (u) => 115_000 + 300 * normalQuantile(u));
    const nearZero = draws(20_000, (u) => (u < 0.2 ? 0 : (u - 0.6) * 1e-9));
    const counts = draws(20_000, (u) => Math.floor(u * 7));
    for (const values of [level, nearZero, counts]) {
      const sketch = sketchOf(values, 1);
      expect(sketch.leafRuns).toBeGreaterThanOrEqual(values.length);
      const sorted = Float64Array.from(values).sort();
      for (const q of [0.05, 0.25, 0.5, 0.75, 0.95])
        expect(sketch.quantile(0, q), `q = ${q}`).toBe(sorted[Math.floor(q * (values.length - 1))]);
    }
    const sketch = sketchOf(level, 1);
    expect(sketch.quantile(0, 0.05)).toBeLessThan(sketch.quantile(0, 0.5));
    expect(sketch.quantile(0, 0.5)).toBeLessThan(sketch.quantile(0, 0.95));
    expect(Number.isInteger(sketchOf(counts, 1).quantile(0, 0.5))).toBe(true);
  });

  it("beyond the leaf size, quantiles stay within the stated rank error, and are values runs had", () => {
    const n = 200_000;
    const cells = 1024;
    const values = draws(n, (u) => 115_000 + 300 * normalQuantile(u), 3);
    const sketch = sketchOf(values, cells);
    expect(sketch.leafRuns).toBeLessThan(n / 16);
    const levels = Math.ceil(Math.log2(n / sketch.leafRuns));
    const bound = (3 * levels * n) / (4 * sketch.capacity);
    const sorted = Float64Array.from(values).sort();
    const set = new Set(values);
    let worst = 0;
    for (const q of [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]) {
      const v = sketch.quantile(0, q);
      expect(set.has(v)).toBe(true);
      const { below, atMost } = rankOf(sorted, v);
      const target = q * (n - 1);
      const miss = target < below ? below - target : target >= atMost ? target - atMost + 1 : 0;
      expect(miss, `q = ${q}`).toBeLessThanOrEqual(bound);
      worst = Math.max(worst, miss);
    }
    expect(bound / n).toBeLessThan(0.011);
    // The bound adds every compaction's error one way; with the sides hashed per node they mostly cancel.
    expect(worst / n).toBeLessThan(0.002);
  });

  it("the summary of runs is the same to the last bit however they were split and merged", () => {
    const n = 50_000;
    const values = draws(n, (u, i) => (i % 5 === 0 ? 0 : Math.sin(i) * 10 ** (i % 7) * u));
    const whole = JSON.stringify(sketchOf(values, 1024).toJSON());
    for (const cuts of [
      [0, 17_000, 50_000],
      [0, 64, 4096, 30_000, 50_000],
      [0, 25_000, 49_999, 50_000],
    ]) {
      const parts = cuts.slice(1).map((end, i) => sketchOf(values.subarray(cuts[i]!, end), 1024, cuts[i]!));
      for (const order of [parts.map((_, i) => i), parts.map((_, i) => parts.length - 1 - i)]) {
        const into = new RankSketches(1024);
        for (const i of order) {
          const w = new PackWriter();
          parts[i]!.pack(w);
          into.mergePacked(new PackReader(w.finish()));
        }
        expect(JSON.stringify(into.toJSON()), `cuts ${cuts}`).toBe(whole);
      }
    }
  });

  it("exact sums are correctly rounded and independent of order", () => {
    const sum = (xs: number[]) => {
      const s = new ExactSum();
      for (const x of xs) s.add(x);
      return s.value();
    };
    expect(sum([1e100, 1, -1e100])).toBe(1);
    expect(sum(new Array(10).fill(0.1))).toBe(1);
    expect(sum([1, 1e-16, 1e-16])).toBe(1.0000000000000002);
    const xs = Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 10 ** ((i % 30) - 15));
    const forward = sum(xs);
    expect(sum([...xs].reverse())).toBe(forward);
    const a = new ExactSum();
    const b = new ExactSum();
    xs.forEach((x, i) => (i % 2 ? a : b).add(x));
    a.merge(b);
    expect(a.value()).toBe(forward);
  });
});
