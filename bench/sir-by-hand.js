// The hand-written floor for whole-process Monte Carlo: models/examples/sir.yaml, scenario `uncertain`, as a
// plain JavaScript loop — each run draws its contact rate and recovery time (lognormal, from the same 90%
// intervals), runs the same equations with the same floors, saves and outcome test, and counts how it ended.
// `node bench/sir-by-hand.js RUNS` prints the outcome counts. bench/montecarlo.js times it as a whole process
// against `brink run` of the same job.

const runs = Number(process.argv[2] ?? 1_000_000);
const Z95 = 1.6448536269514722;

/** mulberry32: a small seeded generator, one stream per run. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A lognormal draw whose 90% interval is [lo, hi] (Box–Muller for the normal). */
function lognormal90(u1, u2, lo, hi) {
  const mu = (Math.log(lo) + Math.log(hi)) / 2;
  const sigma = (Math.log(hi) - Math.log(lo)) / (2 * Z95);
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(mu + sigma * z);
}

/** One run: 720 steps of 0.25 day, a save every day (susceptible, infected, recovered, R). */
function run(out, population, contact, recoveryTime) {
  let s = population - 1;
  let i = 1;
  let r = 0;
  let saved = 0;
  for (let k = 0; ; k++) {
    const t = k * 0.25;
    const infection = (contact * s * i) / population;
    const recovery = i / recoveryTime;
    if (k % 4 === 0) {
      const o = saved * 4;
      out[o] = s;
      out[o + 1] = i;
      out[o + 2] = r;
      out[o + 3] = (contact * recoveryTime * s) / population;
      saved++;
    }
    if (i < 0.5 && t > 1) return 0;
    if (k === 720) return -1;
    s += 0.25 * -infection;
    i += 0.25 * (infection - recovery);
    r += 0.25 * recovery;
    if (s < 0) s = 0;
    if (i < 0) i = 0;
  }
}

const out = new Float64Array(181 * 4);
let over = 0;
let going = 0;
for (let n = 0; n < runs; n++) {
  const random = generator(n * 0x9e3779b9 + 1);
  const contact = lognormal90(random(), random(), 0.2, 0.45);
  const recoveryTime = lognormal90(random(), random(), 7, 14);
  if (run(out, 1000, contact, recoveryTime) === 0) over++;
  else going++;
}
console.log(JSON.stringify({ runs, epidemic_over: over, still_going: going }));
