// Brink against other simulators, each installed from npm as a devDependency so anyone can rerun this:
// Squiggle (sampling), SDEverywhere (a whole-process Monte Carlo of the same SIR model, from its generated
// JavaScript) and Insight Maker's `simulation` package (runs per second); PySD is bench/peers-pysd.js. Ratios are
// Brink's speed over the peer's, measured in one run; a missed floor exits 1. Part of `npm run bench` (after
// `npm run build`); `node bench/peers.js` alone also works after a build.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { samplingPeers } from "./peers-sampling.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const RUNS = Number(process.env.BRINK_BENCH_PEER_RUNS ?? 100_000);
const ROUNDS = 3;
const SIR_FLOOR = 1.5;

/** Whole-process wall time of `node ARGS`, in ms, and its CPU time of every thread, in s; it must succeed. */
function timeNode(args) {
  const started = performance.now();
  const r = spawnSync(process.execPath, ["--import", join(HERE, "cpu-at-exit.js"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const usage = r.stderr.split("\n").findLast((l) => l.startsWith("BENCH_USAGE "));
  return { ms, cpu: JSON.parse(usage.slice("BENCH_USAGE ".length)).cpuSeconds, stdout: r.stdout };
}

/** SDEverywhere's compiler turns bench/peers/sir.mdl (the SIR of models/examples/sir.yaml) into JavaScript. */
async function generateSde(dir) {
  const { parseAndGenerate } = await import("@sdeverywhere/compile");
  const spec = {
    inputVarNames: ["contact rate", "recovery time"],
    outputVarNames: ["susceptible", "infected", "recovered", "reproduction number"],
  };
  const mdl = readFileSync(join(HERE, "peers", "sir.mdl"), "utf8");
  await parseAndGenerate(mdl, "vensim", spec, ["generateJS"], join(HERE, "peers"), "sir", dir);
  // The generated file is an ES module; named .mjs so Node loads it as one outside a package.
  renameSync(join(dir, "sir.js"), join(dir, "sir.mjs"));
  return join(dir, "sir.mjs");
}

async function sirPeers() {
  const dir = mkdtempSync(join(tmpdir(), "brink-peers-"));
  try {
    const model = await generateSde(dir);
    // Like for like: each prints a few numbers about the same runs of the same model (Brink its text report:
    // outcome counts, the tracked values at the last save, the claim; the driver the mean final infected
    // count). `--json` would ask Brink for quantiles at all 181 saves of 4 series, which the driver does not
    // compute; that is timed too, for reference.
    const brinkArgs = [
      join(ROOT, "bin", "brink.js"),
      ...["run", join(ROOT, "models", "examples", "sir.yaml"), "--scenario", "uncertain"],
      ...["--runs", String(RUNS)],
    ];
    const sdeArgs = [join(HERE, "peers", "sde-montecarlo.js"), model, String(RUNS)];
    const best = { ms: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
    let brink = { ...best };
    let brinkJson = { ...best };
    let sde = { ...best };
    const min = (a, b) => ({ ms: Math.min(a.ms, b.ms), cpu: Math.min(a.cpu, b.cpu) });
    for (let r = 0; r < ROUNDS; r++) {
      brink = min(brink, timeNode(brinkArgs));
      sde = min(sde, timeNode(sdeArgs));
      brinkJson = min(brinkJson, timeNode([...brinkArgs, "--json"]));
    }
    const ratio = sde.ms / brink.ms;
    console.log(
      `\nSIR Monte Carlo, ${RUNS.toLocaleString("en")} runs with uncertain contact rate and recovery time, whole process (best of ${ROUNDS} alternating)\n`,
    );
    const row = (name, t, speedUp = "") =>
      console.log(
        `${name.padEnd(40)} ${(t.ms / 1000).toFixed(2).padStart(7)}  ${t.cpu.toFixed(2).padStart(7)}   ${speedUp}`,
      );
    console.log(
      "engine                                    wall s    CPU s   Brink's speed-up, wall (floor ≥ 1.5×)",
    );
    row("SDEverywhere generated JS (one thread)", sde);
    row("Brink (brink run, default workers)", brink, `${ratio.toFixed(2)}×`);
    row(
      "Brink with --json (every save's quantiles)",
      brinkJson,
      `${(sde.ms / brinkJson.ms).toFixed(2)}× (no floor)`,
    );
    console.log(
      "(Brink also counts outcomes, checks the claim and summarises the 4 tracked series at the last save, and ends a run when its outbreak is over, as the model says; the SDEverywhere driver keeps each run's final infected count and runs every step.)",
    );
    return ratio >= SIR_FLOOR
      ? []
      : [`SIR Monte Carlo: Brink ${ratio.toFixed(2)}× SDEverywhere's speed (floor ${SIR_FLOOR}×)`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Insight Maker's `simulation` package: runs per second of the same SIR, in this process, against Brink's. */
async function insightMakerPeer() {
  const { Model } = await import("simulation");
  const { simulate } = await import("../dist/node/simulate.js");
  const m = new Model({ timeStart: 0, timeLength: 180, timeStep: 0.25, algorithm: "Euler" });
  const population = m.Variable({ name: "population", value: "1000" });
  const contact = m.Variable({ name: "contact rate", value: "0.3" });
  const recoveryTime = m.Variable({ name: "recovery time", value: "10" });
  const s = m.Stock({ name: "susceptible", initial: "999", nonNegative: true });
  const i = m.Stock({ name: "infected", initial: "1", nonNegative: true });
  const r = m.Stock({ name: "recovered", initial: "0" });
  const infection = m.Flow(s, i, {
    name: "infection",
    rate: "[contact rate]*[susceptible]*[infected]/[population]",
  });
  const recovery = m.Flow(i, r, { name: "recovery", rate: "[infected]/[recovery time]" });
  for (const [from, to] of [
    [contact, infection],
    [s, infection],
    [i, infection],
    [population, infection],
    [i, recovery],
    [recoveryTime, recovery],
  ])
    m.Link(from, to);
  const imRuns = 50;
  m.simulate(); // warm-up
  const started = performance.now();
  for (let k = 0; k < imRuns; k++) {
    contact.value = String(0.2 + (0.25 * k) / imRuns);
    recoveryTime.value = String(7 + (7 * k) / imRuns);
    m.simulate();
  }
  const imRate = imRuns / ((performance.now() - started) / 1000);
  const input = { file: join(ROOT, "models", "examples", "sir.yaml") };
  input.text = readFileSync(input.file, "utf8");
  const options = { scenario: "uncertain", workers: 1, ownClaims: false };
  await simulate(input, { ...options, runs: 500 });
  const brinkStarted = performance.now();
  await simulate(input, { ...options, runs: 20_000 });
  const brinkRate = 20_000 / ((performance.now() - brinkStarted) / 1000);
  console.log("\nSIR runs per second on one thread, in process (no floor: for reference)\n");
  console.log(`Brink                          ${Math.round(brinkRate).toLocaleString("en").padStart(9)}`);
  console.log(
    `Insight Maker's simulation     ${Math.round(imRate).toLocaleString("en").padStart(9)}   Brink ${(brinkRate / imRate).toFixed(0)}× faster`,
  );
  return [];
}

const missed = [...(await samplingPeers()), ...(await sirPeers()), ...(await insightMakerPeer())];
if (missed.length) {
  console.error(`bench: FAILED peer floors: ${missed.join("; ")}`);
  process.exitCode = 1;
}
