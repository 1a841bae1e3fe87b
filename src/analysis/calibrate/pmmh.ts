import { normalCdf, normalQuantile } from "../../compile/functions.js";
import type { ParamPlan } from "../../compile/ir.js";
import { quantile } from "../../engine/distributions.js";
import { hashName, hashUniform } from "../../engine/rng.js";
import type { ParticleFilter } from "./particle-filter.js";

/**
 * Particle-marginal Metropolis–Hastings (Andrieu, Doucet & Holenstein 2010): a random-walk Metropolis chain
 * over the uncertain params whose likelihood is the particle filter's unbiased estimate; keeping the current
 * estimate (never re-estimating it) makes the chain's target the exact posterior.
 *
 * The chain moves in normal scores: param i is quantile_i(Φ(z_i)), so every prior becomes a standard normal,
 * bounded params need no special moves, and the target density is L(θ(z)) · Πφ(z_i). Several chains start
 * from independent prior draws; during burn-in each adapts its step (a global scale towards a target
 * acceptance, then per-param sds from its own draws), after it the kernel is fixed. Every random number comes
 * from (seed, chain, purpose, counter), so the same seed gives the same posterior, chain by chain.
 */

export interface PmmhOptions {
  chains: number;
  /** Iterations per chain after burn-in. */
  iterations: number;
  burnIn: number;
  seed: number;
  /** Keep every `thin`-th iteration after burn-in (default 1: all); a chain keeps ⌊iterations/thin⌋ draws. */
  thin?: number;
  /** Adapt the proposal's full covariance at half of burn-in, not only each param's sd (default false). */
  covariance?: boolean;
  /**
   * Called after each iteration of each chain (chain, iteration including burn-in, acceptance so far, and the
   * smallest ESS over params of the chain's kept draws so far, computed when called and at most a tenth stale:
   * NaN before 4 are kept).
   */
  onProgress?: (chain: number, iteration: number, acceptance: number, ess: () => number) => void;
  /** Asked before each iteration: true stops the run, which returns what was sampled, marked partial. */
  shouldStop?: () => boolean;
}

/**
 * One chain's kept draws, in arrays allocated once for the whole chain (⌊iterations/thin⌋ rows), so a long
 * chain's memory is bounded by what it keeps, not by how many objects it made.
 */
export class Chain {
  constructor(
    /** Number of params per draw. */
    readonly width: number,
    /** Kept draws, flat: values[k·width + i] is param i (of `params`) at kept draw k. */
    readonly values: Float64Array,
    /**
     * The kept draws as normal scores (param i is quantile_i(Φ(z_i))), the sampler's own coordinates, flat
     * like `values`.
     */
    readonly scores: Float64Array,
    /** The likelihood estimate (log) the chain held at each kept draw. */
    readonly logLikelihood: Float64Array,
    /** Share of accepted proposals after burn-in. */
    readonly acceptance: number,
    /** Particles per likelihood estimate after burn-in (more than the filter's when adapted). */
    readonly particles = 0,
    /**
     * The sd of the log-likelihood estimate at `particles`, as last measured during burn-in (NaN when not
     * measured: without adaptive particle numbers).
     */
    readonly noiseSd = Number.NaN,
  ) {}

  /** Number of kept draws. */
  get kept(): number {
    return this.logLikelihood.length;
  }

  /** The kept draws of param i, in order. */
  column(i: number): Float64Array {
    const out = new Float64Array(this.kept);
    for (let k = 0; k < out.length; k++) out[k] = this.values[k * this.width + i]!;
    return out;
  }

  /** The kept draws as rows (draws[k][i] is param i at kept draw k); allocates, for callers that want rows. */
  get draws(): number[][] {
    return Array.from({ length: this.kept }, (_, k) =>
      Array.from(this.values.subarray(k * this.width, (k + 1) * this.width)),
    );
  }
}

export interface PosteriorParam {
  name: string;
  mean: number;
  sd: number;
  q05: number;
  q50: number;
  q95: number;
  rhat: number;
  ess: number;
}

export interface PmmhResult {
  params: string[];
  chains: Chain[];
  summary: PosteriorParam[];
  acceptance: number;
  partial: boolean;
}

/** What one chain needs besides the filter: its index and the run's settings. */
export interface ChainOptions {
  chain: number;
  iterations: number;
  burnIn: number;
  seed: number;
  thin?: number;
  /** Adapt the proposal's full covariance at half of burn-in, not only each param's sd. */
  covariance?: boolean;
  /** Called after each iteration (iteration including burn-in, acceptance so far, the chain's smallest ESS). */
  onProgress?: (iteration: number, acceptance: number, ess: () => number) => void;
  shouldStop?: () => boolean;
}

const PROPOSAL_KEY = hashName("calibrate:proposal");
const ACCEPT_KEY = hashName("calibrate:accept");
const START_KEY = hashName("calibrate:start");
/** The batch adaptation's target acceptance while the likelihood estimate's noise is unknown. */
const TARGET_ACCEPTANCE = 0.25;
/**
 * The global scale stays within these factors of the reference 2.38/√d, so no run of bad batches can shrink (or
 * blow up) the proposal without bound: [0.1, 10] once the proposal has the posterior's shape (per-param sds or
 * covariance, from half of burn-in), and down to 0.01 before, when it is in the prior's units and a posterior
 * far narrower than the prior rightly shrinks it (to 0.037 on the bundled flu example).
 */
const SCALE_FLOOR = 0.1;
const EARLY_SCALE_FLOOR = 0.01;
const SCALE_CEILING = 10;
/** A chain's start failed: the message, also as it crosses from a worker thread (a plain Error there). */
export const NO_POSITIVE_LIKELIHOOD =
  "no draw from the prior gives the observations a positive likelihood (1000 tried)";
const CALLS_PER_CHAIN = 1e7;
/** Filter runs that measure the sd of the log-likelihood estimate for adaptive particle numbers. */
const SD_REPLICATES = 24;
/** Rounds of measuring and resizing. */
const SD_ROUNDS = 3;

/** The covariance matrix (d × d, row-major) of history rows [from, to). */
function covarianceOf(history: Float64Array, d: number, from: number, to: number): Float64Array {
  const n = to - from;
  const mean = new Float64Array(d);
  for (let h = from; h < to; h++) for (let i = 0; i < d; i++) mean[i]! += history[h * d + i]! / n;
  const cov = new Float64Array(d * d);
  for (let h = from; h < to; h++)
    for (let i = 0; i < d; i++)
      for (let j = 0; j <= i; j++)
        cov[i * d + j]! += ((history[h * d + i]! - mean[i]!) * (history[h * d + j]! - mean[j]!)) / (n - 1);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[j * d + i] = cov[i * d + j]!;
  return cov;
}

/**
 * The lower Cholesky factor of a covariance, each variance floored at 1e-6 (a chain that barely moved); when
 * the matrix is not positive definite, the diagonal of `sd` instead.
 */
function choleskyOf(cov: Float64Array, d: number, sd: Float64Array): Float64Array {
  for (let i = 0; i < d; i++) cov[i * d + i] = Math.max(cov[i * d + i]!, 1e-6);
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = cov[i * d + j]!;
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      if (i === j) {
        if (!(s > 0))
          return Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? sd[k / (d + 1)]! : 0));
        L[i * d + i] = Math.sqrt(s);
      } else L[i * d + j] = s / L[j * d + j]!;
    }
  }
  return L;
}

/**
 * The limiting acceptance rate of pseudo-marginal random-walk Metropolis with proposal scale ℓ/√d (in units
 * where the target's information is 1) when the log-likelihood estimate carries Gaussian noise of sd σ:
 * 2Φ(−√(ℓ² + 2σ²)/2) (Sherlock, Thiery, Roberts & Rosenthal 2015, Ann. Statist. 43: 238–275). At σ = 0 it is
 * the classical 2Φ(−ℓ/2) of Roberts, Gelman & Gilks (1997).
 */
export function pseudoMarginalAcceptance(ell: number, sigma: number): number {
  return 2 * normalCdf(-Math.sqrt(ell * ell + 2 * sigma * sigma) / 2);
}

/**
 * The scale ℓ that maximises the expected squared jump distance ℓ²·α(ℓ, σ) at a given noise sd σ (golden-section
 * search; ℓ ≈ 2.38 at σ = 0, ≈ 2.56 at σ² = 3.283), and the acceptance rate it gives: what the batch adaptation
 * aims for once σ has been measured. Noise alone holds acceptance below 2Φ(−σ/√2), so the 0.234 of a noiseless
 * target cannot be reached above σ ≈ 1.6.
 */
export function optimalScaling(sigma: number): { ell: number; acceptance: number } {
  const s = Number.isFinite(sigma) ? Math.min(Math.max(0, sigma), 20) : 20;
  const efficiency = (ell: number) => ell * ell * pseudoMarginalAcceptance(ell, s);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = 0.1;
  let b = 10;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = efficiency(x1);
  let f2 = efficiency(x2);
  for (let k = 0; k < 80; k++) {
    if (f1 < f2) {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = efficiency(x2);
    } else {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = efficiency(x1);
    }
  }
  const ell = (a + b) / 2;
  return { ell, acceptance: pseudoMarginalAcceptance(ell, s) };
}

/** Where adaptive particle numbers re-measure the estimate's noise: at 1/4, 1/2 and 3/4 of burn-in. */
export function particleChecks(burnIn: number): number[] {
  const at = [
    Math.max(1, Math.floor(Math.floor(burnIn / 2) / 2)),
    Math.floor(burnIn / 2),
    Math.floor((3 * burnIn) / 4),
  ];
  return [...new Set(at.filter((k) => k >= 1 && k < burnIn))];
}

function sdOf(x: readonly number[]): number {
  if (x.some((v) => !Number.isFinite(v))) return Number.POSITIVE_INFINITY;
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
}

/** The params a calibration samples: those with a distribution. */
export function uncertainParams(params: readonly ParamPlan[]): number[] {
  return params.flatMap((q, i) => (q.dist.kind === "fixed" ? [] : [i]));
}

/** Run PMMH to the end (or until `shouldStop`). */
export function runPmmh(filter: ParticleFilter, options: PmmhOptions): PmmhResult {
  const steps = interleavedIterations([{ filter, options }]);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value[0]!;
  }
}

/**
 * Run PMMH, handing control back to the caller every `every` iterations (`pause`), so a caller on an event
 * loop can show progress and notice Ctrl-C between them; the result is the same as runPmmh's.
 */
export async function runPmmhAsync(
  filter: ParticleFilter,
  options: PmmhOptions,
  pause: () => Promise<void>,
  every = 20,
): Promise<PmmhResult> {
  return (await runPmmhInterleaved([{ filter, options }], pause, every))[0]!;
}

/**
 * Several independent PMMH runs on this thread (the factors of one likelihood, each with its filter and seed)
 * woven together: chain c of every run before chain c + 1 of any, and within chain c one iteration of each run
 * in turn. Each run's draws are exactly what it gives alone (a chain depends only on its filter, seed and
 * index); what the weaving buys is that a stop leaves every run at about the same iteration, so the draws the
 * runs have in common — all a merged posterior can pair — are about all that was sampled.
 */
export async function runPmmhInterleaved(
  runs: readonly { filter: ParticleFilter; options: PmmhOptions }[],
  pause: () => Promise<void>,
  every = 20,
): Promise<PmmhResult[]> {
  const steps = interleavedIterations(runs);
  for (let i = 1; ; i++) {
    const next = steps.next();
    if (next.done) return next.value;
    if (i % every === 0) await pause();
  }
}

/** The runs' chains, woven as runPmmhInterleaved says, one yield per iteration; its return value is the result. */
function* interleavedIterations(
  runs: readonly { filter: ParticleFilter; options: PmmhOptions }[],
): Generator<void, PmmhResult[]> {
  const kept = runs.map(() => [] as Chain[]);
  const chains = Math.max(0, ...runs.map((r) => r.options.chains));
  let partial = false;
  for (let c = 0; c < chains && !partial; c++) {
    const live = runs.map(({ filter, options }) =>
      c < options.chains ? chainIterations(filter, chainOptionsOf(options, c)) : undefined,
    );
    const ends: ({ chain: Chain; stopped: boolean } | undefined)[] = live.map(() => undefined);
    for (let open = live.filter(Boolean).length; open > 0; ) {
      for (let k = 0; k < live.length; k++) {
        if (!live[k] || ends[k]) continue;
        const next = live[k]!.next();
        if (next.done) {
          ends[k] = next.value;
          kept[k]!.push(next.value.chain);
          open--;
        } else yield;
      }
    }
    partial = ends.some((e) => e?.stopped);
  }
  return runs.map((r, k) => combineChains(r.filter.program.params, kept[k]!, partial));
}

/** Chain c's options within a PMMH run. */
function chainOptionsOf(options: PmmhOptions, c: number): ChainOptions {
  return {
    chain: c,
    iterations: options.iterations,
    burnIn: options.burnIn,
    seed: options.seed,
    ...(options.thin !== undefined ? { thin: options.thin } : {}),
    ...(options.covariance ? { covariance: true } : {}),
    ...(options.onProgress
      ? { onProgress: (it: number, a: number, e: () => number) => options.onProgress!(c, it, a, e) }
      : {}),
    ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
  };
}

/** Keep every thin-th draw: a thinning as a whole number of at least 1 (absent: 1, every draw). */
export function wholeThin(thin: number | undefined): number {
  return Math.max(1, Math.floor(thin ?? 1));
}

/** Run one chain to the end (or until `shouldStop`): what a worker thread does with a chain. */
export function runChain(filter: ParticleFilter, options: ChainOptions): { chain: Chain; stopped: boolean } {
  const steps = chainIterations(filter, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * One chain, one yield per iteration. Its draws depend only on (seed, chain): filter calls are numbered per
 * chain, so chains can run in any order, on any thread, and give the same posterior.
 */
export function* chainIterations(
  filter: ParticleFilter,
  options: ChainOptions,
): Generator<void, { chain: Chain; stopped: boolean }> {
  const params = filter.program.params;
  const free = uncertainParams(params);
  const d = free.length;
  const { seed, burnIn, iterations, chain: c } = options;
  const thin = wholeThin(options.thin);
  const total = burnIn + iterations;
  if (total >= CALLS_PER_CHAIN / 2)
    throw new RangeError(`at most ${CALLS_PER_CHAIN / 2} iterations per chain`);
  const values = Float64Array.from(params, (q) => (q.dist.kind === "fixed" ? q.dist.value : 0));
  const setValues = (z: Float64Array) => {
    for (let i = 0; i < d; i++) {
      const u = Math.min(1 - 1e-12, Math.max(1e-12, normalCdf(z[i]!)));
      values[free[i]!] = quantile(params[free[i]!]!.dist, u);
    }
    return values;
  };
  const logPrior = (z: Float64Array) => {
    let s = 0;
    for (let i = 0; i < d; i++) s -= 0.5 * z[i]! * z[i]!;
    return s;
  };

  // Stopped before it began (a chain queued behind others when Ctrl-C came): no start search, nothing kept.
  if (options.shouldStop?.()) {
    const none = new Float64Array(0);
    return { chain: new Chain(d, none, none, none, 0, filter.particles), stopped: true };
  }
  // Filter calls are numbered per chain, so a chain's draws do not depend on the other chains.
  let call = c * CALLS_PER_CHAIN;
  // The filter may change at half of burn-in (adaptive particle numbers, below).
  let f = filter;
  // A start from the prior with a finite likelihood estimate.
  let z = new Float64Array(d);
  let ll = Number.NEGATIVE_INFINITY;
  for (let attempt = 0; attempt < 1000 && ll === Number.NEGATIVE_INFINITY; attempt++) {
    for (let i = 0; i < d; i++) z[i] = normalQuantile(hashUniform(seed, c, START_KEY, attempt * d + i));
    ll = f.run(setValues(z), ++call).logLikelihood;
  }
  if (ll === Number.NEGATIVE_INFINITY) throw new Error(NO_POSITIVE_LIKELIHOOD);
  const sd = new Float64Array(d).fill(1);
  // The proposal's Cholesky factor with `covariance` (the identity until it is adapted), else diagonal `sd`.
  let cholesky: Float64Array | undefined = options.covariance
    ? Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0))
    : undefined;
  const step = new Float64Array(d);
  const reference = 2.38 / Math.sqrt(Math.max(1, d));
  let floor = EARLY_SCALE_FLOOR * reference;
  const bounded = (x: number) => Math.min(SCALE_CEILING * reference, Math.max(floor, x));
  let scale = reference;
  // The batch adaptation's target: 0.25 until the estimate's noise sd is measured, then the acceptance of the
  // optimal scale under that noise (optimalScaling).
  let targetAcceptance = TARGET_ACCEPTANCE;
  let noiseSd = Number.NaN;
  // Everything the chain keeps is allocated here, once.
  const capacity = Math.floor(iterations / thin);
  const keptValues = new Float64Array(capacity * d);
  const keptScores = new Float64Array(capacity * d);
  const keptLogLik = new Float64Array(capacity);
  let kept = 0;
  // Recomputed only when the chain has grown by a tenth since, so showing it every second stays cheap.
  let essAt = 0;
  let essValue = Number.NaN;
  const chainEss = () => {
    if (kept >= 4 && kept >= 1.1 * essAt) {
      essAt = kept;
      let smallest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < d; i++) {
        const column = new Float64Array(kept);
        for (let k = 0; k < kept; k++) column[k] = keptValues[k * d + i]!;
        smallest = Math.min(smallest, ess([column]));
      }
      essValue = smallest;
    }
    return essValue;
  };
  // Burn-in draws up to the point where per-param sds are set from them.
  const adaptAt = Math.floor(burnIn / 2);
  // Adaptive particle numbers are set at a quarter of burn-in (before the draws the sds come from) and
  // re-checked at a half and three quarters.
  const checks = f.targetSd > 0 ? particleChecks(burnIn) : [];
  const history = new Float64Array(adaptAt * d);
  let acceptedInBatch = 0;
  let accepted = 0;
  let afterBurnIn = 0;
  let stopped = false;
  const proposal = new Float64Array(d);
  for (let it = 0; it < total; it++) {
    if (options.shouldStop?.()) {
      stopped = true;
      break;
    }
    if (cholesky) {
      for (let i = 0; i < d; i++) step[i] = normalQuantile(hashUniform(seed, c, PROPOSAL_KEY, it * d + i));
      for (let i = 0; i < d; i++) {
        let x = 0;
        for (let j = 0; j <= i; j++) x += cholesky[i * d + j]! * step[j]!;
        proposal[i] = z[i]! + scale * x;
      }
    } else
      for (let i = 0; i < d; i++)
        proposal[i] = z[i]! + scale * sd[i]! * normalQuantile(hashUniform(seed, c, PROPOSAL_KEY, it * d + i));
    const next = f.run(setValues(proposal), ++call).logLikelihood;
    const logAlpha = next + logPrior(proposal) - ll - logPrior(z);
    if (Math.log(hashUniform(seed, c, ACCEPT_KEY, it)) < logAlpha) {
      z = Float64Array.from(proposal);
      ll = next;
      acceptedInBatch++;
      if (it >= burnIn) accepted++;
    }
    if (it < burnIn) {
      if (it < adaptAt) history.set(z, it * d);
      if ((it + 1) % 20 === 0) {
        // Robbins–Monro-like batch adaptation of the global scale towards the target acceptance.
        // Bounded, so that a run of batches whose acceptance is held down by the estimate's noise (a zero move
        // is accepted with probability 2Φ(−σ/√2) only) cannot shrink the step to nothing.
        scale = bounded(scale * Math.exp((acceptedInBatch / 20 - targetAcceptance) * 2));
        acceptedInBatch = 0;
      }
      if (checks.includes(it + 1)) {
        // Adaptive particle numbers (Doucet, Pitt, Deligiannidis & Kohn 2015): the sd of the log-likelihood
        // estimate falls about as 1/√N, so N·(sd/target)² particles bring it to the target. Measured at the
        // chain's current params, in a few rounds (from far too few particles the estimate is heavy-tailed and
        // one round overshoots), never below the particles given nor below those already chosen: re-checked at
        // a half and three quarters of burn-in, so a chain that has moved somewhere noisier gets more. After
        // a raise the chain goes on from a fresh estimate at its params. The measured sd also sets the batch
        // adaptation's target acceptance (Sherlock et al. 2015). A chain's draws still depend only on
        // (seed, chain).
        const before = f;
        for (let round = 0; round < SD_ROUNDS; round++) {
          const estimates: number[] = [];
          for (let m = 0; m < SD_REPLICATES; m++) estimates.push(f.run(setValues(z), ++call).logLikelihood);
          const sdNow = sdOf(estimates);
          const wanted = Number.isFinite(sdNow)
            ? Math.ceil(f.particles * (sdNow / f.targetSd) ** 2)
            : Number.POSITIVE_INFINITY;
          const n = Math.min(filter.maxParticles, Math.max(f.particles, wanted));
          // The sd at n particles, from the 1/√N law (measured, when n is what was measured at).
          noiseSd = sdNow * Math.sqrt(f.particles / n);
          if (n === f.particles) break;
          f = filter.withParticles(n);
        }
        targetAcceptance = optimalScaling(noiseSd).acceptance;
        if (f !== before) ll = f.run(setValues(z), ++call).logLikelihood;
      }
      if (it + 1 === adaptAt && adaptAt > 10) {
        // Per-param sds from the second quarter of burn-in: the posterior's own shape.
        const from = Math.floor(adaptAt / 2);
        const n = adaptAt - from;
        for (let i = 0; i < d; i++) {
          let m = 0;
          for (let h = from; h < adaptAt; h++) m += history[h * d + i]!;
          m /= n;
          let v = 0;
          for (let h = from; h < adaptAt; h++) v += (history[h * d + i]! - m) ** 2;
          v /= n - 1;
          sd[i] = Math.max(1e-3, Math.sqrt(v));
        }
        scale = reference;
        floor = SCALE_FLOOR * reference;
        // With `covariance`, the whole covariance of those draws (Haario, Saksman & Tamminen 2001): a
        // posterior whose params trade off against each other (a ridge) is then crossed along the ridge.
        if (cholesky) cholesky = choleskyOf(covarianceOf(history, d, from, adaptAt), d, sd);
      }
    } else {
      afterBurnIn++;
      if (afterBurnIn % thin === 0 && kept < capacity) {
        for (let i = 0; i < d; i++) {
          keptValues[kept * d + i] = valueAt(params, free, z, i);
          keptScores[kept * d + i] = z[i]!;
        }
        keptLogLik[kept] = ll;
        kept++;
      }
    }
    options.onProgress?.(it, it >= burnIn ? accepted / afterBurnIn : acceptedInBatch / 20, chainEss);
    yield;
  }
  const chain = new Chain(
    d,
    keptValues.subarray(0, kept * d),
    keptScores.subarray(0, kept * d),
    keptLogLik.subarray(0, kept),
    afterBurnIn ? accepted / afterBurnIn : 0,
    f.particles,
    noiseSd,
  );
  return { chain, stopped };
}

/** The posterior summary of chains (in chain order), as PMMH returns it. */
export function combineChains(params: readonly ParamPlan[], chains: Chain[], partial: boolean): PmmhResult {
  const free = uncertainParams(params);
  const names = free.map((i) => params[i]!.name);
  // A stopped run may end with a chain that kept nothing (or too little to diagnose): it is left out.
  const used = chains.filter((ch) => ch.kept >= 4);
  const summary = names.map((name, i) =>
    summarize(
      name,
      used.map((ch) => ch.column(i)),
    ),
  );
  const kept = chains.reduce((a, ch) => a + ch.kept, 0);
  const acceptance = kept ? chains.reduce((a, ch) => a + ch.acceptance * ch.kept, 0) / kept : 0;
  return { params: names, chains, summary, acceptance, partial };
}

function valueAt(params: readonly ParamPlan[], free: number[], z: Float64Array, i: number): number {
  const u = Math.min(1 - 1e-12, Math.max(1e-12, normalCdf(z[i]!)));
  return quantile(params[free[i]!]!.dist, u);
}

function summarize(name: string, chains: Float64Array[]): PosteriorParam {
  const all = new Float64Array(chains.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chains) {
    all.set(c, at);
    at += c.length;
  }
  all.sort();
  const n = all.length;
  const mean = all.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  const q = (p: number) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    return all[lo]! + (h - lo) * (all[Math.min(n - 1, lo + 1)]! - all[lo]!);
  };
  return {
    name,
    mean,
    sd,
    q05: q(0.05),
    q50: q(0.5),
    q95: q(0.95),
    rhat: splitRhat(chains),
    ess: ess(chains),
  };
}

type Draws = ArrayLike<number> & { slice(start?: number, end?: number): ArrayLike<number> };

const meanOf = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
};
const varOf = (x: ArrayLike<number>) => {
  const m = meanOf(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - m) ** 2;
  return s / (x.length - 1);
};

/** Split-R̂ (Gelman et al., Bayesian Data Analysis, 3rd ed., §11.4): each chain halved, between vs within. */
export function splitRhat(chains: readonly Draws[]): number {
  const halves: ArrayLike<number>[] = [];
  for (const c of chains) {
    const h = Math.floor(c.length / 2);
    if (h < 2) continue;
    halves.push(c.slice(0, h), c.slice(c.length - h));
  }
  if (halves.length < 2) return Number.NaN;
  const n = Math.min(...halves.map((h) => h.length));
  const means = halves.map(meanOf);
  const W = meanOf(halves.map(varOf));
  const B = n * varOf(means);
  const varPlus = ((n - 1) / n) * W + B / n;
  return W > 0 ? Math.sqrt(varPlus / W) : Number.NaN;
}

/**
 * Effective sample size over chains (BDA3 §11.5): autocorrelations from the within- and between-chain
 * variances, summed in pairs while the pair sums stay positive (Geyer's initial positive sequence).
 */
export function ess(chains: readonly Draws[]): number {
  const m = chains.length;
  const n = Math.min(...chains.map((c) => c.length));
  if (m === 0 || n < 4) return Number.NaN;
  const cs = chains.map((c) => c.slice(0, n));
  const means = cs.map(meanOf);
  const W = meanOf(cs.map(varOf));
  const B = m > 1 ? n * varOf(means) : 0;
  const varPlus = ((n - 1) / n) * W + B / n;
  if (!(varPlus > 0)) return Number.NaN;
  const rho = (t: number) => {
    let acov = 0;
    for (let j = 0; j < m; j++) {
      const c = cs[j]!;
      const mu = means[j]!;
      let s = 0;
      for (let k = 0; k + t < n; k++) s += (c[k]! - mu) * (c[k + t]! - mu);
      acov += s / n;
    }
    return 1 - (W - acov / m) / varPlus;
  };
  let sum = 0;
  for (let t = 0; t + 1 < n; t += 2) {
    const pair = (t === 0 ? 1 : rho(t)) + rho(t + 1);
    if (pair < 0) break;
    sum += pair;
  }
  return (m * n) / Math.max(1e-12, -1 + 2 * sum);
}
