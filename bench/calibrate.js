// Particle filter throughput against the plain Monte Carlo kernel on the same stochastic model, in the same
// process: particle·steps per second (particles × model steps covered by the filter) and plain run·steps per
// second. Particles pause at each observation time and resume from their saved state (see docs/calibration.md);
// each pause costs a stream reset, the measurement density and resampling, so this prints the ratio for a few
// numbers of observation times K. Run with `npm run build && node bench/calibrate.js`.
import { parseObservations } from "../dist/analysis/calibrate/observations.js";
import { ParticleFilter } from "../dist/analysis/calibrate/particle-filter.js";
import { prepareModel, Runner } from "../dist/index.js";

const STEPS = 200;
const model = (every) => `brink: 1
name: a noisy logistic growth
time: { start: 0, stop: ${STEPS}, dt: 1 }
params:
  rate: { dist: "0.02 to 0.1" }
stocks:
  size: { init: 10, inflows: [growth], min: 0 }
flows:
  growth: { eq: "rate * size * (1 - size / 1000) + normal(0, 2)" }
observations:
  counts: { variable: size, file: data.csv, time: t, noise: normal, sd: 5, doc: "every ${every} steps" }
`;

function csvEvery(every) {
  const rows = ["t,value"];
  let x = 10;
  for (let k = 1; k <= STEPS; k++) {
    x += 0.05 * x * (1 - x / 1000);
    if (k % every === 0) rows.push(`${k},${x.toFixed(3)}`);
  }
  return rows.join("\n");
}

function perSecond(work, seconds = 1.5) {
  let units = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) units += work();
  return units / ((performance.now() - start) / 1000);
}

const PARTICLES = 200;
console.log(`model: ${STEPS} steps, one random draw per step; filter: ${PARTICLES} particles\n`);
console.log("observation times K   plain run·steps/s   filter particle·steps/s   plain/filter");
for (const every of [50, 20, 10, 4]) {
  const prepared = prepareModel("bench.yaml", model(every));
  const series = parseObservations(prepared.loaded, () => ({ file: "data.csv", text: csvEvery(every) }));
  const runner = new Runner(prepared, 1);
  let run = 0;
  const plain = perSecond(() => {
    for (let b = 0; b < 50; b++) runner.run(run++);
    return 50 * (STEPS + 1);
  });
  const filter = new ParticleFilter(prepared, series, { particles: PARTICLES, seed: 1 });
  const lastStep = filter.steps[filter.steps.length - 1];
  let call = 0;
  const params = [0.05];
  const pf = perSecond(() => {
    filter.run(params, call++);
    return PARTICLES * (lastStep + 1);
  });
  console.log(
    `${String(filter.steps.length).padStart(19)}   ${Math.round(plain).toLocaleString("en").padStart(17)}   ${Math.round(pf).toLocaleString("en").padStart(23)}   ${(plain / pf).toFixed(1).padStart(11)}×`,
  );
}
