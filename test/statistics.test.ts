import { describe, expect, it } from "vitest";
import { BUILTINS } from "../src/compile/builtins.js";
import { eventFirings, hazardProbability, normalCdf } from "../src/compile/functions.js";
import { betaCdf, quantile } from "../src/engine/distributions.js";
import { ExactSum } from "../src/engine/exactsum.js";
import { hashName, hashUniform, SiteStreams } from "../src/engine/rng.js";
import { Runner } from "../src/engine/run.js";
import { QuantileSketch, SKETCH_RELATIVE_ERROR } from "../src/engine/sketch.js";
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
  it("the quantile sketch is within its stated relative error of the exact quantile, on any sign", () => {
    const s = new SiteStreams(["x"]);
    s.reset(1, 1);
    const values = Float64Array.from({ length: 50_000 }, () => {
      const u = s.uniform(0);
      return u < 0.1 ? 0 : u < 0.4 ? -Math.exp(10 * u) : Math.exp(20 * (u - 0.5));
    });
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    const sorted = Float64Array.from(values).sort();
    for (const q of [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]) {
      const exact = sorted[Math.floor(q * (values.length - 1))]!;
      const next = sorted[Math.ceil(q * (values.length - 1))]!;
      const got = sketch.quantile(q);
      const err = Math.min(
        Math.abs(got - exact) / Math.abs(exact || 1),
        Math.abs(got - next) / Math.abs(next || 1),
      );
      expect(err, `q = ${q}`).toBeLessThanOrEqual(SKETCH_RELATIVE_ERROR + 1e-12);
    }
    expect(SKETCH_RELATIVE_ERROR).toBeLessThanOrEqual(0.01);
  });

  it("merging sketches of parts gives the sketch of the whole", () => {
    const whole = new QuantileSketch();
    const parts = [new QuantileSketch(), new QuantileSketch(), new QuantileSketch()];
    for (let i = 0; i < 3000; i++) {
      const x = Math.sin(i) * 10 ** (i % 7);
      whole.add(x);
      parts[i % 3]!.add(x);
    }
    parts[2]!.merge(parts[0]!);
    parts[2]!.merge(parts[1]!);
    expect(parts[2]!.toJSON()).toEqual(whole.toJSON());
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
