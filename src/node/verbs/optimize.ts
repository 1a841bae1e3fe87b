import { DEFAULT_MODEL } from "../package-info.js";
import {
  given,
  jsonOption,
  MODEL_ARGUMENT,
  printResult,
  redisOption,
  redisSimulator,
  runsOption,
  scenarioOption,
  seedOption,
  type Verb,
  wholeNumber,
  workersOption,
} from "./shared.js";

interface OptimizeOptions {
  maximize: string;
  subjectTo: string[];
  runs: number;
  iterations: number;
  candidates: number;
  frontier?: string;
  scenario?: string;
  vary?: string;
  seed: number;
  workers?: number;
  report?: string;
  compareScenarios?: string;
  matchObjective?: string;
  redis?: string;
  json?: boolean;
}

export const optimize: Verb = {
  name: "optimize",
  workers: true,
  register(program, { io, exit, fail }) {
    program
      .command("optimize")
      .description(
        "find the decisions that maximise an objective while constraints hold with 95% confidence (cross-entropy method, common random numbers)",
      )
      .argument(...MODEL_ARGUMENT)
      .requiredOption("--maximize <term>", "what to maximise: an E(var at TIME) or P(…) term")
      .requiredOption(
        "--subject-to <constraint...>",
        'constraints such as "P(nuclear_use by 2030-08-21) <= 0.01"',
      )
      .addOption(runsOption("runs per candidate", { min: 10, max: 1e8, default: 1000 }))
      .option("--iterations <n>", "cross-entropy iterations", wholeNumber("--iterations", 1, 1000), 8)
      .option("--candidates <n>", "candidates per iteration", wholeNumber("--candidates", 2, 10000), 10)
      .option(
        "--frontier <bounds>",
        "re-optimise with these bounds for the first constraint, e.g. 0.001,0.005,0.01,0.02,0.05",
      )
      .addOption(scenarioOption("optimise within a scenario"))
      .option("--vary <names>", "comma-separated decisions to vary (default: all)")
      .addOption(seedOption())
      .addOption(workersOption())
      .addOption(redisOption("every candidate's runs"))
      .option(
        "--report <file>",
        "also write an HTML report: frontier, decisions, and the optimised plan against the model's own values, the minimum and --compare-scenarios",
      )
      .option("--compare-scenarios <list>", "for --report: scenarios to run with the optimised decisions")
      .option(
        "--match-objective <decision>",
        "for --report: in those scenarios, set this decision to the objective's estimate (an E(…) objective)",
      )
      .addOption(jsonOption())
      .action(async (file: string | undefined, opts: OptimizeOptions) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const [
            { readModel, writeFileAtomic },
            { formatOptimization },
            { optimize: optimizeDecisions },
            { progressBar },
            { checkPlanComparison, optimizationReport },
            { UsageError },
          ] = await Promise.all([
            import("../files.js"),
            import("../format.js"),
            import("../optimize.js"),
            import("../progress.js"),
            import("../report.js"),
            import("../../analysis/simulate.js"),
          ]);
          const frontier = opts.frontier?.split(",").map((x) => Number(x.trim()));
          if (frontier?.some((x) => !Number.isFinite(x)))
            throw new UsageError(`--frontier takes numbers separated by commas, not '${opts.frontier}'`);
          const comparison = {
            ...given(
              "scenarios",
              opts.compareScenarios?.split(",").map((s) => s.trim()),
            ),
            ...given("matchObjective", opts.matchObjective),
            ...given("workers", opts.workers),
          };
          // A typo in what the report compares is found before the search, not after it.
          if (opts.report)
            checkPlanComparison({ file: path, text: await readModel(path) }, comparison, opts.maximize);
          const bar = progressBar();
          const started = performance.now();
          const result = await optimizeDecisions(
            { file: path, text: await readModel(path) },
            {
              maximize: opts.maximize,
              subjectTo: opts.subjectTo,
              runs: opts.runs,
              iterations: opts.iterations,
              candidates: opts.candidates,
              seed: opts.seed,
              ...given("frontier", frontier),
              ...given("scenario", opts.scenario),
              ...given("workers", opts.workers),
              // Candidates are judged by their claims, and the text prints each tracked variable at its last
              // save: nothing else is summarised (a Redis worker of another version may not know the option).
              ...(opts.redis ? {} : { candidateTrackedCells: "last" as const }),
              ...(!opts.json && !opts.report && !opts.redis ? { trackedCells: "last" as const } : {}),
              ...given(
                "vary",
                opts.vary?.split(",").map((v) => v.trim()),
              ),
              onProgress: (p) => {
                const elapsedSeconds = (performance.now() - started) / 1000;
                if (!process.stderr.isTTY) {
                  const best = p.best
                    ? `best ${p.best.result.objective.toPrecision(4)}`
                    : "no feasible candidate yet";
                  io.err(
                    `${p.bound !== undefined ? `bound ${p.bound}: ` : ""}iteration ${p.iteration}/${p.iterations}, ${p.evaluations} evaluations, ${best}\n`,
                  );
                } else
                  bar.update({ done: p.iteration, total: p.iterations, elapsedSeconds, runsPerSecond: 0 });
              },
            },
            await redisSimulator(opts.redis),
          );
          bar.stop();
          if (opts.report) {
            const html = await optimizationReport(
              { file: path, text: await readModel(path) },
              result,
              comparison,
            );
            writeFileAtomic(opts.report, html);
          }
          printResult(io, opts.json, result, formatOptimization);
        } catch (e) {
          exit(await fail(e));
        }
      });
  },
};
