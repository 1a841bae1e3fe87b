// Sampling against Squiggle (npm @quri/squiggle-lang, a devDependency): 100,000 samples of lognormal(0, 1) ×
// beta(2, 3), in the same process, each side warmed up, best of alternating rounds. Brink draws params as it does in
// a run: a hashed uniform per (seed, run, param) turned into a value by the inverse CDF. Floor: Brink at least
// 1.5× Squiggle's speed. Run by bench/peers.js (after `npm run build`).
import { run as squiggle } from "@quri/squiggle-lang";
import { prepareModel, Runner } from "../dist/index.js";

const SAMPLES = 100_000;
const ROUNDS = 7;
const FLOOR = 1.5;

const MODEL = `brink: 1
name: lognormal times beta
time: { start: 0, stop: 1, dt: 1 }
params:
  x: { dist: "lognormal(0, 1)" }
  y: { dist: "beta(2, 3)" }
vars:
  product: x * y
`;

// The model is read and compiled once, as Squiggle's standard library is loaded once; the draws (and the beta's
// per-shape set-up, on the first) are timed.
const model = prepareModel("sampling.yaml", MODEL);
const runner = new Runner(model, 1);
const values = new Float64Array(model.program.slots.length);
const [x, y] = model.program.params.map((p) => p.slot);

function brinkSamples() {
  let sum = 0;
  for (let i = 0; i < SAMPLES; i++) {
    runner.sampleParams(i, values);
    sum += values[x] * values[y];
  }
  return sum / SAMPLES;
}

async function squiggleSamples() {
  const out = await squiggle("x = lognormal(0, 1) * beta(2, 3)\nmean(x)", {
    environment: { sampleCount: SAMPLES, xyPointLength: 1000, seed: "brink-bench" },
  });
  if (!out.result.ok) throw new Error(`squiggle: ${out.result.value.toString()}`);
  return Number(out.result.value.result.toString());
}

/** Best time of each over ROUNDS alternating rounds (so load on the machine hits both alike), after a warm-up. */
async function bestOf(...fs) {
  for (const f of fs) await f(); // warm-up: JIT, and Squiggle's standard library
  const out = fs.map(() => ({ ms: Number.POSITIVE_INFINITY, value: 0 }));
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, f] of fs.entries()) {
      const started = performance.now();
      out[i].value = await f();
      out[i].ms = Math.min(out[i].ms, performance.now() - started);
    }
  return out;
}

export async function samplingPeers() {
  const [brink, sq] = await bestOf(brinkSamples, squiggleSamples);
  const ratio = sq.ms / brink.ms;
  console.log(
    `\n${SAMPLES.toLocaleString("en")} samples of lognormal(0, 1) × beta(2, 3) (best of ${ROUNDS}, same process)\n`,
  );
  console.log("engine     ms      mean   Brink's speed-up (floor ≥ 1.5×)");
  console.log(`Brink    ${brink.ms.toFixed(1).padStart(6)}  ${brink.value.toFixed(3)}`);
  console.log(`Squiggle ${sq.ms.toFixed(1).padStart(6)}  ${sq.value.toFixed(3)}  ${ratio.toFixed(2)}×`);
  // Both means estimate E[lognormal(0,1)]·E[beta(2,3)] = e^0.5 · 0.4 ≈ 0.659: the same work on both sides.
  return ratio >= FLOOR ? [] : [`sampling: Brink ${ratio.toFixed(2)}× Squiggle's speed (floor ${FLOOR}×)`];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const missed = await samplingPeers();
  if (missed.length) {
    console.error(`bench: FAILED ${missed.join("; ")}`);
    process.exitCode = 1;
  }
}
