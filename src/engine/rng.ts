import type { RandomStreams } from "../compile/functions.js";

/**
 * Seeded randomness. Every random source of a run — each random call site, each `rate` trigger, each param —
 * has its own stream keyed by (seed, run index, source name). So a run is a pure function of (model, seed,
 * run index), whatever the number of workers; and two scenarios of one model share random numbers source by
 * source (common random numbers) even when one of them adds or removes a mechanism.
 *
 * Streams use xoshiro128** (Blackman & Vigna), seeded through a strong 32-bit integer hash; uniforms take 53
 * bits from two outputs and lie strictly inside (0, 1).
 */

/** A 32-bit integer hash with good avalanche (the "lowbias32" constants from hash-prospector). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over UTF-16 code units, then mixed: a stable 32-bit key for a source name. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

const TWO32 = 4294967296;
const COUNTER0_A = mix32(0x9e3779b9);
const COUNTER0_B = mix32(1 + 0x7f4a7c15);

/** The seed's part of a stream key; a job keeps one seed, so the last one is remembered. */
let lastSeed = Number.NaN;
let lastSeedKey = 0;
function seedKey(seed: number): number {
  if (seed !== lastSeed) {
    lastSeedKey = mix32(mix32((seed >>> 0) ^ 0x243f6a88) ^ (Math.floor(seed / TWO32) >>> 0) ^ 0x85a308d3);
    lastSeed = seed;
  }
  return lastSeedKey;
}

/** A 32-bit key for (seed, run, source): the root of that source's stream. Seed and run are integers below 2^53,
 * taken as their low and high 32-bit halves (without allocating: this runs for every param of every run). */
export function streamKey(seed: number, run: number, source: number): number {
  let h = seedKey(seed);
  h = mix32(h ^ (run >>> 0) ^ 0x13198a2e);
  h = mix32(h ^ (Math.floor(run / TWO32) >>> 0) ^ 0x03707344);
  return mix32(h ^ source ^ 0xa4093822);
}

/** A uniform in (0, 1) straight from (seed, run, source, counter): counter-based, no state. */
export function hashUniform(seed: number, run: number, source: number, counter = 0): number {
  const k = streamKey(seed, run, source);
  // Counter 0 (every param draw) uses the two mixed constants precomputed.
  const a = mix32(k ^ (counter === 0 ? COUNTER0_A : mix32(counter * 2 + 0x9e3779b9)));
  const b = mix32(a ^ (counter === 0 ? COUNTER0_B : mix32(counter * 2 + 1 + 0x7f4a7c15)));
  return ((a >>> 5) * 67108864 + (b >>> 6) + 0.5) / 9007199254740992;
}

/** One xoshiro128** state per random site, all in one typed array. */
export class SiteStreams implements RandomStreams {
  private readonly state: Uint32Array;
  private readonly keys: Uint32Array;

  constructor(siteNames: readonly string[]) {
    this.state = new Uint32Array(4 * siteNames.length);
    this.keys = Uint32Array.from(siteNames.map(hashName));
  }

  /** Position every site's stream at the start of run `run` of job `seed`. */
  reset(seed: number, run: number): void {
    const s = this.state;
    for (let i = 0; i < this.keys.length; i++) {
      let h = streamKey(seed, run, this.keys[i]!);
      for (let j = 0; j < 4; j++) {
        h = mix32(h + 0x9e3779b9);
        s[4 * i + j] = h;
      }
      if ((s[4 * i]! | s[4 * i + 1]! | s[4 * i + 2]! | s[4 * i + 3]!) === 0) s[4 * i] = 1;
    }
  }

  next32(site: number): number {
    const s = this.state;
    const o = 4 * site;
    const s0 = s[o]!;
    const s1 = s[o + 1]!;
    const s2 = s[o + 2]!;
    const s3 = s[o + 3]!;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[o + 1] = s1 ^ n2;
    s[o] = s0 ^ n3;
    s[o + 2] = n2 ^ t;
    s[o + 3] = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  uniform(site: number): number {
    const a = this.next32(site);
    const b = this.next32(site);
    return ((a >>> 5) * 67108864 + (b >>> 6) + 0.5) / 9007199254740992;
  }
}

/** Streams that count the draws made at each site (to find where a history stands after some steps). */
export class CountingStreams extends SiteStreams {
  readonly counts: Uint32Array;

  constructor(siteNames: readonly string[]) {
    super(siteNames);
    this.counts = new Uint32Array(siteNames.length);
  }

  override reset(seed: number, run: number): void {
    super.reset(seed, run);
    this.counts.fill(0);
  }

  override next32(site: number): number {
    this.counts[site]!++;
    return super.next32(site);
  }
}

/**
 * Streams for a branch of a history: each site first replays the history's draws, as many as the history made
 * up to the branch point, then continues on the branch's own stream. So a run with the history's params
 * retraces the history exactly and then goes its own way: Monte Carlo "from here".
 */
export class BranchStreams extends SiteStreams {
  private readonly history: SiteStreams;
  private readonly used: Uint32Array;
  private prefix: Uint32Array;

  constructor(siteNames: readonly string[]) {
    super(siteNames);
    this.history = new SiteStreams(siteNames);
    this.used = new Uint32Array(siteNames.length);
    this.prefix = new Uint32Array(siteNames.length);
  }

  /** History run `historyRun` up to `prefix` draws per site, then branch run `branchRun`. */
  position(seed: number, historyRun: number, prefix: Uint32Array, branchRun: number): void {
    this.history.reset(seed, historyRun);
    super.reset(seed, branchRun);
    this.used.fill(0);
    this.prefix = prefix;
  }

  override next32(site: number): number {
    if (this.used[site]! < this.prefix[site]!) {
      this.used[site]!++;
      return this.history.next32(site);
    }
    return super.next32(site);
  }
}
