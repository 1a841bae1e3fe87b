// Monte Carlo throughput and memory: runs/s per core, the speed-up from 1 to 2 worker threads, and the peak
// memory of a million SIR runs. Ratios and per-core rates, measured in one process, so they travel across
// machines. Part of `npm run bench`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeWorkers, simulate } from "../dist/node/simulate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const model = (name) => {
  const file = join(ROOT, "models", name);
  return { file, text: readFileSync(file, "utf8") };
};

if (process.argv[2] === "--million") {
  // Child mode: one million SIR runs on two workers, then report the peak resident memory.
  const started = performance.now();
  const r = await simulate(model("examples/sir.yaml"), {
    runs: 1_000_000,
    workers: 2,
    scenario: "uncertain",
    seed: 1,
  });
  await closeWorkers();
  console.log(
    JSON.stringify({
      runs: r.report.runs,
      seconds: (performance.now() - started) / 1000,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
  process.exit(0);
}

async function rate(input, given) {
  // Runs per second of the model itself: claims that run other scenarios would multiply the work.
  const options = { ...given, ownClaims: false };
  // A warm-up job starts the worker threads and compiles the model in each, as a long job amortises.
  await simulate(input, { ...options, runs: Math.min(options.runs, 2000) });
  const started = performance.now();
  await simulate(input, options);
  return options.runs / ((performance.now() - started) / 1000);
}

const largest = process.env.BRINK_BENCH_LARGEST ?? "flagship/flagship.yaml";
const jobs = [
  ["SIR (uncertain)", model("examples/sir.yaml"), { scenario: "uncertain", runs: 200_000 }],
  [largest, model(largest), { runs: 60_000 }],
];

console.log("\nMonte Carlo throughput (runs/s; the job split into chunks over worker threads)\n");
console.log(
  "model                          1 thread  1 worker  2 workers  speed-up 1→2 workers (floor 1.7×)",
);
const missed = [];
for (const [name, input, options] of jobs) {
  const inProcess = await rate(input, { ...options, workers: 1 });
  const one = await rate(input, { ...options, workers: 1, threads: true });
  const two = await rate(input, { ...options, workers: 2 });
  console.log(
    `${name.padEnd(30)} ${Math.round(inProcess).toLocaleString("en").padStart(8)}  ${Math.round(one).toLocaleString("en").padStart(8)}  ${Math.round(
      two,
    )
      .toLocaleString("en")
      .padStart(9)}  ${(two / one).toFixed(2)}×`,
  );
  if (!(two / one >= 1.7))
    missed.push(`${name}: speed-up 1→2 workers ${(two / one).toFixed(2)}× (floor 1.7×)`);
}
await closeWorkers();

const child = JSON.parse(
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--million"], { encoding: "utf8" }),
);
console.log(
  `\n1,000,000 SIR runs on 2 workers: ${child.seconds.toFixed(1)} s, peak memory ${Math.round(child.maxRssMB)} MB (floor: under 300 MB)`,
);
if (!(child.maxRssMB < 300))
  missed.push(`peak memory ${Math.round(child.maxRssMB)} MB (floor: under 300 MB)`);
// A missed floor fails `npm run bench` (exit 1), so a script or CI step cannot read it as a pass.
if (missed.length) {
  console.error(`bench: FAILED ${missed.length} floor(s):\n  ${missed.join("\n  ")}`);
  process.exitCode = 1;
}
