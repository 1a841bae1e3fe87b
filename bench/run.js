// Brink benchmarks: the compiled kernel against a hand-written JavaScript loop of the same equations, timed in
// the same process. Results are ratios, so they hold on any machine. Run with `npm run bench`.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { prepareModel, Runner } from "../dist/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const load = (name) => {
  const file = join(ROOT, "models", "examples", name);
  return prepareModel(file, readFileSync(file, "utf8"));
};

/** Teacup by hand: the same equations, saves and step count as models/examples/teacup.yaml. */
function teacupByHand(out, room, characteristicTime) {
  let temp = 180;
  let saved = 0;
  for (let k = 0; ; k++) {
    const loss = (temp - room) / characteristicTime;
    const gap = temp - room;
    const o = saved * 3;
    out[o] = temp;
    out[o + 1] = loss;
    out[o + 2] = gap;
    saved++;
    if (k === 240) break;
    temp += 0.125 * loss;
  }
  return temp;
}

/** SIR by hand, as models/examples/sir.yaml: floors at 0, the outcome test, four tracked values. */
function sirByHand(out, population, contact, recoveryTime) {
  let s = population - 1;
  let i = 1;
  let r = 0;
  let saved = 0;
  for (let k = 0; ; k++) {
    const t = k * 0.25;
    const infection = (contact * s * i) / population;
    const recovery = i / recoveryTime;
    const rn = (contact * recoveryTime * s) / population;
    const o = saved * 4;
    out[o] = s;
    out[o + 1] = i;
    out[o + 2] = r;
    out[o + 3] = rn;
    saved++;
    if (i < 0.5 && t > 1) return 0;
    if (k === 720) return -1;
    s += 0.25 * -infection;
    i += 0.25 * (infection - recovery);
    r += 0.25 * recovery;
    if (s < 0) s = 0;
    if (i < 0) i = 0;
  }
}

const BATCH = 200;

async function compare(name, model, byHand) {
  const runner = new Runner(model, 1);
  const values = runner.sampleParams(0, new Float64Array(model.program.slots.length));
  const out = new Float64Array(runner.saved.length);
  const result = new Float64Array(3);
  const streams = { uniform: () => 0.5 };
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  let sink = 0;
  bench
    .add(`${name}: hand-written loop`, () => {
      for (let b = 0; b < BATCH; b++) sink += byHand(out);
    })
    .add(`${name}: compiled kernel`, () => {
      for (let b = 0; b < BATCH; b++) sink += model.kernel(values, out, streams, result);
    })
    .add(`${name}: full run (params, streams, kernel)`, () => {
      for (let b = 0; b < BATCH; b++) sink += runner.run(b).saves;
    });
  await bench.run();
  const us = (task) => ((task.result.latency?.mean ?? task.result.mean) * 1000) / BATCH;
  const [hand, kernel, full] = bench.tasks.map(us);
  if (sink === 42.5) console.log(""); // keep the work observable
  return { name, hand, kernel, full, ratio: kernel / hand, fullRatio: full / hand };
}

const rows = [
  await compare("teacup", load("teacup.yaml"), (out) => teacupByHand(out, 70, 10)),
  await compare("SIR", load("sir.yaml"), (out) => sirByHand(out, 1000, 0.3, 10)),
];

console.log(
  "\nCompiled kernel vs hand-written JavaScript (same process, µs per run; floor: kernel ≤ 1.5× hand)\n",
);
console.log("model    hand µs  kernel µs  kernel/hand  full-run µs  full/hand");
for (const r of rows) {
  console.log(
    `${r.name.padEnd(7)} ${r.hand.toFixed(2).padStart(8)} ${r.kernel.toFixed(2).padStart(10)} ${r.ratio.toFixed(2).padStart(11)}× ${r.full
      .toFixed(2)
      .padStart(11)} ${r.fullRatio.toFixed(2).padStart(9)}×`,
  );
}
const worst = Math.max(...rows.map((r) => r.ratio));
console.log(
  `\nworst kernel/hand ratio: ${worst.toFixed(2)}× — ${worst <= 1.5 ? "within" : "OVER"} the 1.5× floor`,
);
// A missed floor fails `npm run bench` (exit 1), so a script or CI step cannot read it as a pass.
if (!(worst <= 1.5)) {
  console.error("bench: FAILED the kernel floor (kernel ≤ 1.5× hand-written)");
  process.exitCode = 1;
}
