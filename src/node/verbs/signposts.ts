import { availableParallelism } from "node:os";
import type { SignpostResult } from "../../analysis/signposts.js";
import type { ParamRows } from "../../engine/run.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { table } from "../format.js";
import { EXIT_INTERRUPTED, printResult, samplerOptions, seedArg, type Verb, wholeNumber } from "./shared.js";
import { prepareScenarios, priorWeights, scenarioNames, weighWorkers } from "./weigh.js";

interface SignpostFlags {
  scenarios: string;
  calibrate?: boolean;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  workers?: number;
  from?: string;
  horizon?: string;
  period?: string;
  persistence: number;
  priorWeights?: string;
  runs: number;
  seed: number;
  top: number;
  output?: string;
  json?: boolean;
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));

/** The signposts as text: ranked, each with its information and the thresholds that favour each scenario. */
export function formatSignposts(r: SignpostResult): string {
  const rows = r.signposts.map((s, i) => [
    String(i + 1),
    s.observable,
    s.date ?? fmt(s.t),
    fmt(s.information_bits),
    s.predictive.map((p) => fmt(p.mean)).join(" / "),
  ]);
  const from = r.from.date ?? fmt(r.from.t);
  const to = r.to.date ?? fmt(r.to.t);
  return [
    `signposts between ${r.scenarios.join(", ")} (${r.model.name}), ${from} to ${to}: ${r.observables} observables weighed, ${r.runs} runs per scenario on common random numbers, seed ${r.seed}${r.partial ? " — PARTIAL" : ""}`,
    table(["rank", "observable", "at", "info (bits)", `mean (${r.scenarios.join(" / ")})`], rows),
    "",
    "thresholds (odds: P(event | scenario) / P(event | the others, prior-weighted)):",
    ...r.signposts.flatMap((s, i) => s.thresholds.map((t) => `${i + 1}. ${t.text}`)),
    "",
    `density: ${r.density}`,
    `${r.predictive}.`,
  ].join("\n");
}

/**
 * `brink signposts FILE --scenarios a,b,c [--horizon DURATION]`: the coming observations that would best tell
 * the scenarios apart, ranked by expected information gain, with the thresholds that favour each. Listed in
 * verbs/index.ts.
 */
export const signpostsVerb: Verb = {
  name: "signposts",
  register(program, { io, exit: setCode, fail: report }) {
    samplerOptions(
      program
        .command("signposts")
        .description("rank the coming observations by how well they would tell rival scenarios apart")
        .argument("<file>", "the model file, with a 'scenarios' section")
        .requiredOption("--scenarios <list>", "comma-separated scenarios ('base' is the base model)")
        .option(
          "--from <date>",
          "signposts after this date (default: the last observation, else the model's start)",
        )
        .option(
          "--horizon <duration>",
          "how far after --from to look, e.g. '1 year' (default: to the model's end)",
        )
        .option("--period <duration>", "the period of the changes (default: the model's save interval)")
        .option(
          "--persistence <k>",
          "periods in a row a change must stay past its threshold for the 'stays below' signpost (1: none)",
          wholeNumber("--persistence", 1, 1000),
          3,
        )
        .option("--prior-weights <list>", "prior weight of each scenario, comma-separated (default: equal)")
        .option("--runs <n>", "runs per scenario", wholeNumber("--runs", 10, 1e6), 2000)
        .option("--seed <s>", "seed, shared by every scenario (common random numbers)", seedArg, 1)
        // --workers comes with the sampler's options (used by --calibrate and by the runs alike).
        .option("--top <n>", "signposts to list", wholeNumber("--top", 1, 10000), 15)
        .option(
          "--calibrate",
          "run each scenario from its posterior given the observations up to --from (PMMH), not its priors",
        ),
      1000,
    )
      .option("-o, --output <file>", "also write an HTML report with the signposts section")
      .option("--json", "print the signposts as one JSON object instead of tables")
      .action(async (file: string, opts: SignpostFlags) => {
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
            { parseHorizon },
            { untilStep },
            { signposts },
            { posteriorRows },
            { renderHtml },
            { signpostsSection },
            { readModel, writeFileAtomic },
            { loadObservations },
            { UsageError },
          ] = await Promise.all([
            import("../../analysis/calibrate/backtest.js"),
            import("../../analysis/calibrate/calibrate.js"),
            import("../../analysis/signposts.js"),
            import("../../analysis/weigh.js"),
            import("../../report/html.js"),
            import("../../report/weigh.js"),
            import("../files.js"),
            import("../observations.js"),
            import("../../analysis/simulate.js"),
          ]);
          const names = await scenarioNames(opts.scenarios);
          const priors = await priorWeights(opts.priorWeights, names.length);
          const scenarios = await prepareScenarios(file, names);
          const first = scenarios[0]!.model;
          const { time } = first.loaded;
          const steps = first.program.time.steps;
          let fromStep = 0;
          if (opts.from !== undefined) {
            const u = untilStep(first, opts.from);
            if ("error" in u) throw new UsageError(u.error.replace("--until", "--from"));
            fromStep = u.step;
          } else {
            const observed = loadObservations(file, first.loaded).flatMap((s) => s.points.map((p) => p.step));
            if (observed.length) fromStep = Math.max(...observed);
          }
          let toStep = steps;
          if (opts.horizon !== undefined) {
            const h = parseHorizon(first, opts.horizon);
            if ("error" in h) throw new UsageError(h.error);
            toStep = Math.min(steps, fromStep + h.steps);
          }
          const every = first.program.time.saveEvery;
          let periodSteps = every;
          let periodLabel = `${fmt(every * time.dt)} ${time.unit ? `${time.unit}${every * time.dt === 1 ? "" : "s"}` : "time units"}`;
          if (opts.period !== undefined) {
            const p = parseHorizon(first, opts.period);
            if ("error" in p) throw new UsageError(p.error.replace("--horizon", "--period"));
            if (p.steps % every !== 0)
              throw new UsageError(
                `--period ${opts.period} is not a whole number of the model's save intervals (${periodLabel})`,
              );
            periodSteps = p.steps;
            periodLabel = opts.period;
          }
          if (toStep <= fromStep) throw new UsageError("nothing after --from: the model's time ends there");
          let posteriors: (ParamRows | undefined)[] | undefined;
          if (opts.calibrate) {
            posteriors = [];
            for (const s of scenarios) {
              const series = loadObservations(file, s.model.loaded);
              if (series.length === 0)
                throw new DiagnosticError([
                  s.model.loaded.source.error(
                    0,
                    "--calibrate: nothing to calibrate against: the model has no 'observations'",
                  ),
                ]);
              const rows = await posteriorRows(
                { ...s, series },
                {
                  seed: opts.seed,
                  chains: opts.chains,
                  iterations: opts.iterations,
                  burnIn: opts.burnIn,
                  particles: opts.particles,
                  evidenceDraws: 0,
                  untilStep: fromStep,
                  shouldStop: () => interrupted,
                  pause: () => new Promise((resolve) => setImmediate(resolve)),
                },
              );
              if (rows === "stopped") {
                io.err("brink: stopped while calibrating; nothing to report\n");
                setCode(EXIT_INTERRUPTED);
                return;
              }
              posteriors.push(rows);
            }
          }
          workers = await weighWorkers(
            opts.workers ?? availableParallelism(),
            await readModel(file),
            abort.signal,
          );
          const result = await signposts(
            file,
            scenarios,
            {
              runs: opts.runs,
              seed: opts.seed,
              fromStep,
              toStep,
              periodSteps,
              periodLabel,
              persistence: opts.persistence,
              top: opts.top,
              ...(posteriors ? { posteriors } : {}),
              ...(priors ? { priorWeights: priors } : {}),
              shouldStop: () => interrupted,
              pause: () => new Promise((resolve) => setImmediate(resolve)),
            },
            workers?.runs,
          );
          if (opts.output && !result.partial) {
            const html = renderHtml({
              title: `${result.model.name}: signposts`,
              subtitle: file,
              sections: [await signpostsSection(result)],
              metadata: {
                model: file,
                scenarios: result.scenarios.join(", "),
                from: String(result.from.date ?? result.from.t),
                to: String(result.to.date ?? result.to.t),
                runs: String(result.runs),
                seed: String(result.seed),
              },
            });
            writeFileAtomic(opts.output, html);
          }
          printResult(io, opts.json, result, formatSignposts);
          if (opts.output && !opts.json && !result.partial) io.out(`wrote ${opts.output}\n`);
          if (result.partial) setCode(EXIT_INTERRUPTED);
        } catch (e) {
          if (interrupted) {
            io.err("brink: stopped before every run was made; nothing to report\n");
            setCode(EXIT_INTERRUPTED);
          } else setCode(await report(e));
        } finally {
          process.removeListener("SIGINT", onInterrupt);
          await workers?.close();
        }
      });
  },
};
