// `brink calibrate` on worker threads: wall time of the same calibration (4 chains of a stochastic model, with
// the filtered-state and evidence draws) on the main thread and on pools of 2 and 4 threads, and a check that
// every posterior is the same string. The speed-up is bounded by the chains (one task each) and by the cores
// free. Run with `npm run build && node bench/calibrate-workers.js`.
import { calibrate } from "../dist/analysis/calibrate/calibrate.js";
import { parseObservations } from "../dist/analysis/calibrate/observations.js";
import { prepareModel } from "../dist/index.js";
import { calibratePool, closeCalibrateWorkers } from "../dist/node/calibrate-pool.js";

const STEPS = 100;
const text = `brink: 1
name: a noisy logistic growth
time: { start: 0, stop: ${STEPS}, dt: 1 }
params:
  rate: { dist: "0.02 to 0.1" }
stocks:
  size: { init: 10, inflows: [growth], min: 0 }
flows:
  growth: { eq: "rate * size * (1 - size / 1000) + normal(0, 2)" }
observations:
  counts: { variable: size, file: data.csv, time: t, noise: normal, sd: 5 }
`;
const rows = ["t,value"];
let x = 10;
for (let k = 1; k <= STEPS; k++) {
  x += 0.05 * x * (1 - x / 1000);
  if (k % 5 === 0) rows.push(`${k},${x.toFixed(3)}`);
}
const model = prepareModel("bench.yaml", text);
const series = parseObservations(model.loaded, () => ({ file: "data.csv", text: rows.join("\n") }));
const options = { seed: 1, chains: 4, iterations: 300, burnIn: 100, particles: 200, evidenceDraws: 200 };

let reference;
let base;
for (const workers of [1, 2, 4]) {
  const pool = calibratePool(workers);
  const start = performance.now();
  const post = await calibrate(model, "bench.yaml", series, { ...options, ...(pool ? { pool } : {}) });
  const seconds = (performance.now() - start) / 1000;
  const json = JSON.stringify(post);
  reference ??= json;
  base ??= seconds;
  console.log(
    `workers ${workers}: ${seconds.toFixed(2)} s (×${(base / seconds).toFixed(2)}), posterior ${json === reference ? "identical" : "DIFFERENT"}`,
  );
}
await closeCalibrateWorkers();
