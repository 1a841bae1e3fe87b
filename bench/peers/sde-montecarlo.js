// A Monte Carlo of SDEverywhere's generated JavaScript, as a whole process: `node sde-montecarlo.js MODEL.js RUNS`.
// Each run draws the SIR's contact rate and recovery time from the same priors as Brink's `uncertain` scenario
// ("0.2 to 0.45" and "7 to 14": lognormals with those 90% intervals), runs the generated model through
// @sdeverywhere/runtime's synchronous runner, and keeps each run's final infected count, whose mean it prints.
import { pathToFileURL } from "node:url";
import { createSynchronousModelRunner } from "@sdeverywhere/runtime";

const [modelFile, runsText] = process.argv.slice(2);
const runs = Number(runsText);
const Z95 = 1.6448536269514722;
const prior = (a, b) => ({
  mu: (Math.log(a) + Math.log(b)) / 2,
  sigma: (Math.log(b) - Math.log(a)) / (2 * Z95),
});
const contact = prior(0.2, 0.45);
const recovery = prior(7, 14);

// A small seeded generator (mulberry32) and Box–Muller normals: cheap, as a hand-written driver would use.
let state = 12345;
const uniform = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 + 1 / 8589934592;
};
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());

const generated = await (await import(pathToFileURL(modelFile).href)).default();
const runner = createSynchronousModelRunner(generated);
const outputs = runner.createOutputs();
const infected = outputs.varIds.indexOf("_infected");
let sum = 0;
for (let r = 0; r < runs; r++) {
  const inputs = [
    Math.exp(contact.mu + contact.sigma * normal()),
    Math.exp(recovery.mu + recovery.sigma * normal()),
  ];
  runner.runModelSync(inputs, outputs);
  const series = outputs.varSeries[infected].points;
  sum += series[series.length - 1].y;
}
await runner.terminate();
console.log(JSON.stringify({ runs, meanFinalInfected: sum / runs }));
