import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { RunsPart, RunsPool, RunsTask } from "../../analysis/signposts.js";
import type { EvidencePath, EvidencePool, EvidenceTask, WeighResult } from "../../analysis/weigh.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { table } from "../format.js";
import { PACKAGE_ROOT } from "../package-info.js";
import { EXIT_INTERRUPTED, printResult, samplerOptions, seedArg, type Verb, wholeNumber } from "./shared.js";

interface WeighFlags {
  scenarios: string;
  workers?: number;
  until?: string;
  priorWeights?: string;
  every?: string;
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  evidenceDraws: number;
  output?: string;
  json?: boolean;
  progress?: boolean;
}

const WORKER = join(PACKAGE_ROOT, "dist", "node", "weigh-worker.js");

/**
 * Worker threads for weigh and signposts (weigh-worker.ts), or none for one: their tasks are keyed by seed and
 * run index only, so the answer is the same on any number. `signal` aborts the tasks (Ctrl-C).
 */
export async function weighWorkers(threads: number, text: string, signal: AbortSignal) {
  if (threads <= 1) return undefined;
  // The worker pool's library is loaded only when there are workers to start.
  const { Piscina } = await import("piscina");
  const piscina = new Piscina({ filename: WORKER, minThreads: 0, maxThreads: threads, idleTimeout: 1000 });
  const evidence: EvidencePool = {
    text,
    run: (task: EvidenceTask) => piscina.run(task, { signal }) as Promise<EvidencePath | { problem: string }>,
  };
  const runs: RunsPool = {
    text,
    run: (task: RunsTask) => piscina.run(task, { name: "runsTask", signal }) as Promise<RunsPart>,
  };
  return { evidence, runs, close: () => piscina.destroy() };
}

/** `--scenarios a,b,c`: at least two distinct names ('base' is the base model). */
export async function scenarioNames(text: string): Promise<string[]> {
  const { UsageError } = await import("../../analysis/simulate.js");
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length < 2) throw new UsageError("--scenarios needs at least two scenarios, comma-separated");
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--scenarios names '${twice}' twice`);
  return names;
}

/** `--prior-weights 2,1,1`: one non-negative number per scenario, not all zero (normalised later). */
export async function priorWeights(text: string | undefined, count: number): Promise<number[] | undefined> {
  if (text === undefined) return undefined;
  const { UsageError } = await import("../../analysis/simulate.js");
  const items = text.split(",").map((s) => s.trim());
  const values = items.map(Number);
  if (items.some((s) => !/^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(s)) || !values.every(Number.isFinite))
    throw new UsageError(`--prior-weights takes non-negative numbers, comma-separated, not '${text}'`);
  if (values.length !== count)
    throw new UsageError(`--prior-weights gives ${values.length} weights for ${count} scenarios`);
  if (!values.some((w) => w > 0)) throw new UsageError("--prior-weights are all zero");
  return values;
}

/** Each named scenario of the model file, prepared ('base': the model without an overlay). */
export async function prepareScenarios(
  file: string,
  names: readonly string[],
): Promise<{ name: string; model: PreparedModel }[]> {
  const [{ prepareModel }, { readModel }] = await Promise.all([
    import("../../engine/prepare.js"),
    import("../files.js"),
  ]);
  const text = await readModel(file);
  return names.map((name) => ({
    name,
    model: prepareModel(file, text, name === "base" ? {} : { scenario: name }),
  }));
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "–");

/** The weights as text: per scenario its evidence and weight, then the weights over time. */
export function formatWeights(r: WeighResult): string {
  const until = r.until ? ` up to ${r.until.date ?? r.until.t}` : "";
  const rows = r.evidence.map((e, i) => {
    const w = r.weights[i];
    return [
      e.scenario,
      pct(r.prior_weights[i]!),
      fmt(e.log_marginal_likelihood),
      fmt(e.se),
      String(Math.round(e.ess)),
      e.rhat_max === undefined ? "" : e.rhat_max.toFixed(3),
      w ? pct(w.weight) : "",
      w ? `${pct(w.lo)} – ${pct(w.hi)}` : "",
    ];
  });
  const series = r.series.map((p) => [
    p.date ?? fmt(p.t),
    String(p.observations),
    ...p.weights.map((w) => `${pct(w.weight)} (${pct(w.lo)}–${pct(w.hi)})`),
  ]);
  return [
    `weights of ${r.scenarios.join(", ")} (${r.model.name}) given ${r.observations} observations${until}: PMMH ${r.sampler.chains} chains × ${r.sampler.iterations} (after ${r.sampler.burn_in} burn-in), ${r.sampler.evidence_draws} evidence draws, seed ${r.seed}${r.partial ? " — PARTIAL" : ""}`,
    table(["scenario", "prior", "log ML", "± se", "ESS", "max R-hat", "weight", "95% interval"], rows),
    `interval: ${r.interval.method} (${r.interval.draws} draws)`,
    ...r.warnings.map((w) => `warning: ${w}`),
    ...(series.length
      ? [
          "",
          `weights as the data came in (${r.every === "month" ? "the last observation of each month" : "at each observation"}):`,
          table([r.series[0]?.date ? "data up to" : "t", "obs", ...r.scenarios], series),
        ]
      : []),
  ].join("\n");
}

/**
 * `brink weigh FILE --scenarios a,b,c [--until DATE] [--prior-weights 2,1,1]`: posterior weights of rival
 * scenarios given the model's observations. Listed in verbs/index.ts.
 */
export const weighVerb: Verb = {
  name: "weigh",
  register(program, { io, exit: setCode, fail: report }) {
    samplerOptions(
      program
        .command("weigh")
        .description(
          "posterior weights of rival scenarios given the model's observations (marginal likelihoods)",
        )
        .argument("<file>", "the model file, with 'observations' and 'scenarios' sections")
        .requiredOption("--scenarios <list>", "comma-separated scenarios to weigh ('base' is the base model)")
        .option("--until <date>", "use observations up to this date (or model time) only")
        .option("--prior-weights <list>", "prior weight of each scenario, comma-separated (default: equal)")
        .option(
          "--every <point>",
          "the weights' time series: 'month' (the last observation of each month; default in a dated model) or 'observation'",
        )
        // --workers (threads, one scenario each; 1: this thread, with progress) comes with the sampler's options.
        .option("--seed <s>", "seed: the same seed gives the same weights", seedArg, 1),
      1000,
    )
      .option(
        "--evidence-draws <n>",
        "filter runs per scenario for its log marginal likelihood",
        wholeNumber("--evidence-draws", 2, 1e6),
        1000,
      )
      .option("-o, --output <file>", "also write an HTML report with the weights section")
      .option("--progress", "show progress even when stderr is not a terminal")
      .option("--json", "print the weights as one JSON object instead of tables")
      .action(async (file: string, opts: WeighFlags) => {
        let interrupted = false;
        const abort = new AbortController();
        const onInterrupt = () => {
          interrupted = true;
          abort.abort();
        };
        process.once("SIGINT", onInterrupt);
        let workers: Awaited<ReturnType<typeof weighWorkers>>;
        try {
          const [
            { untilStep },
            { weigh },
            { renderHtml },
            { weighSection },
            { readModel, writeFileAtomic },
            { loadObservations },
            { UsageError },
          ] = await Promise.all([
            import("../../analysis/calibrate/calibrate.js"),
            import("../../analysis/weigh.js"),
            import("../../report/html.js"),
            import("../../report/weigh.js"),
            import("../files.js"),
            import("../observations.js"),
            import("../../analysis/simulate.js"),
          ]);
          const names = await scenarioNames(opts.scenarios);
          const priors = await priorWeights(opts.priorWeights, names.length);
          if (opts.every !== undefined && opts.every !== "month" && opts.every !== "observation")
            throw new UsageError(`--every takes 'month' or 'observation', not '${opts.every}'`);
          const scenarios = (await prepareScenarios(file, names)).map((s) => ({
            ...s,
            series: loadObservations(file, s.model.loaded),
          }));
          const first = scenarios[0]!.model;
          let step: number | undefined;
          if (opts.until !== undefined) {
            const u = untilStep(first, opts.until);
            if ("error" in u) throw new UsageError(u.error);
            step = u.step;
          }
          const dated = first.loaded.time.origin !== undefined;
          if (opts.every === "month" && !dated)
            throw new UsageError("--every month needs a dated model (time.start a date)");
          const showProgress = opts.progress === true || process.stderr.isTTY === true;
          let last = Date.now();
          workers = await weighWorkers(
            opts.workers ?? Math.min(names.length, availableParallelism()),
            await readModel(file),
            abort.signal,
          );
          const result = await weigh(
            file,
            scenarios,
            {
              seed: opts.seed,
              chains: opts.chains,
              iterations: opts.iterations,
              burnIn: opts.burnIn,
              particles: opts.particles,
              evidenceDraws: opts.evidenceDraws,
              every: (opts.every as "month" | "observation" | undefined) ?? (dated ? "month" : "observation"),
              ...(priors ? { priorWeights: priors } : {}),
              ...(step !== undefined ? { untilStep: step } : {}),
              onProgress: (s, chain, it, acceptance) => {
                if (!showProgress || Date.now() - last < 1000) return;
                last = Date.now();
                io.err(
                  `scenario ${names[s]} (${s + 1}/${names.length}): chain ${chain + 1}/${opts.chains}, iteration ${it + 1}/${opts.burnIn + opts.iterations}, acceptance ${acceptance.toFixed(2)}\n`,
                );
              },
              shouldStop: () => interrupted,
              pause: () => new Promise((resolve) => setImmediate(resolve)),
            },
            workers?.evidence,
          );
          if (opts.output && !result.partial) {
            const html = renderHtml({
              title: `${result.model.name}: scenario weights`,
              subtitle: file,
              sections: [await weighSection(result)],
              metadata: {
                model: file,
                scenarios: result.scenarios.join(", "),
                until: result.until ? String(result.until.date ?? result.until.t) : "all observations",
                seed: String(result.seed),
              },
            });
            writeFileAtomic(opts.output, html);
          }
          printResult(io, opts.json, result, formatWeights);
          if (opts.output && !opts.json && !result.partial) io.out(`wrote ${opts.output}\n`);
          if (result.partial) setCode(EXIT_INTERRUPTED);
        } catch (e) {
          if (interrupted) {
            io.err("brink: stopped before every scenario was weighed; nothing to report\n");
            setCode(EXIT_INTERRUPTED);
          } else setCode(await report(e));
        } finally {
          process.removeListener("SIGINT", onInterrupt);
          await workers?.close();
        }
      });
  },
};
