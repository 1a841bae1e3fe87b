import { Option } from "commander";
import type { SimulateOptions } from "../../analysis/simulate.js";
import { DEFAULT_MODEL, VERSION } from "../package-info.js";
import type { SummaryFile } from "../summary-file.js";
import {
  dataOption,
  decisionArg,
  EXIT_INTERRUPTED,
  given,
  jsonOption,
  MODEL_ARGUMENT,
  printResult,
  probability,
  redisOption,
  runsOption,
  scenarioOption,
  seedOption,
  type Verb,
  WORKERS_HELP_RUN,
  wholeNumber,
  workersOption,
} from "./shared.js";

interface RunOptions {
  set: Record<string, number>;
  scenario?: string;
  runs?: number;
  seed: number;
  workers?: number;
  chunkSize?: number;
  sampling: "random" | "lhs";
  precision?: number;
  firstRun: number;
  saveSummary?: string;
  runsOut?: string;
  redis?: string;
  progress?: boolean;
  json?: boolean;
  posterior?: string;
  data?: string[];
  from?: string;
}

export const run: Verb = {
  name: "run",
  workers: true,
  register(program, { io, exit, fail }) {
    program
      .command("run")
      .description("run a model as Monte Carlo and print the end states, tracked values and claims")
      .argument(...MODEL_ARGUMENT)
      .addOption(scenarioOption("run a scenario of the model instead of its base"))
      .addOption(
        runsOption("number of runs (default 1000; with --precision, the most allowed, default 1,000,000)"),
      )
      .addOption(seedOption("seed: the same seed gives the same numbers on any machine"))
      .addOption(workersOption(WORKERS_HELP_RUN))
      .option(
        "--chunk-size <n>",
        "runs per chunk handed to a worker; results do not depend on it",
        wholeNumber("--chunk-size", 1, 1e9),
      )
      .addOption(
        new Option("--sampling <how>", "how params are drawn: random, or a Latin hypercube")
          .choices(["random", "lhs"])
          .default("random"),
      )
      .option(
        "--precision <h>",
        "run until every outcome's 95% interval half-width is at most h (e.g. 0.005)",
        probability,
      )
      .option(
        "--first-run <i>",
        "index of the first run, to split one job over machines (see brink merge)",
        wholeNumber("--first-run", 0, 2 ** 52),
        0,
      )
      .option("--save-summary <file>", "also write the mergeable summary (JSON) to this file")
      .option(
        "--runs-out <dir>",
        "also write every run (params, decisions, outcome, tracked values) as Parquet, one file per chunk",
      )
      .option(
        "--set <decision=value...>",
        "set decision variables, e.g. --set min_review_interval=6",
        decisionArg,
        {},
      )
      .option(
        "--posterior <file>",
        "take the uncertain params from a `brink calibrate` posterior, a draw per run",
      )
      .option(
        "--from <date>",
        "with --posterior: start every run at the posterior's date from its filtered state (params and state of one draw)",
      )
      .addOption(redisOption("the chunks"))
      .option("--progress", "show a progress bar even when stderr is not a terminal")
      .addOption(dataOption())
      .addOption(jsonOption())
      .action(async (file: string | undefined, opts: RunOptions) => {
        const path = file ?? DEFAULT_MODEL;
        const [{ readModel, writeFileAtomic }, { formatReport }, { progressBar }, { simulate, UsageError }] =
          await Promise.all([
            import("../files.js"),
            import("../format.js"),
            import("../progress.js"),
            import("../simulate.js"),
          ]);
        const bar = progressBar(opts.progress ? { force: true } : {});
        const controller = new AbortController();
        const onInterrupt = () => controller.abort();
        process.once("SIGINT", onInterrupt);
        try {
          const text = await readModel(path, given("data", opts.data));
          if (opts.from !== undefined && !opts.posterior)
            throw new UsageError(
              "--from needs --posterior: the start state comes from a `brink calibrate` posterior",
            );
          if (opts.from !== undefined && (opts.scenario !== undefined || Object.keys(opts.set).length))
            throw new UsageError(
              "--from cannot be combined with --scenario or --set: the posterior's state is of the model as calibrated",
            );
          const paramRows = opts.posterior
            ? await (await import("./calibrate.js")).posteriorParamRows(opts.posterior, path, text, opts.from)
            : undefined;
          if (opts.runsOut) (await import("../runs-parquet.js")).prepareRunsFolder(opts.runsOut);
          const options: SimulateOptions = {
            seed: opts.seed,
            sampling: opts.sampling,
            firstRun: opts.firstRun,
            signal: controller.signal,
            onProgress: (p) => bar.update(p),
            ...given("runs", opts.runs),
            ...given("workers", opts.workers),
            ...given("chunkSize", opts.chunkSize),
            ...given("precision", opts.precision),
            ...given("scenario", opts.scenario),
            ...(Object.keys(opts.set).length ? { decisions: opts.set } : {}),
            ...(paramRows ? { paramRows } : {}),
            // The text report prints each tracked variable at its last save only: no other cell is summarised.
            ...(!opts.json && !opts.saveSummary && !opts.redis ? { trackedCells: "last" as const } : {}),
            ...(opts.runsOut
              ? {
                  runsOut: {
                    dir: opts.runsOut,
                    metadata: { "brink.engine_version": VERSION, "brink.file": path },
                  },
                }
              : {}),
          };
          const input = { file: path, text };
          const result = opts.redis
            ? // BullMQ is loaded only when asked for, so other runs start as fast as before.
              await (await import("../distributed.js")).simulateOnRedis(input, options, opts.redis)
            : await simulate(input, options);
          bar.stop();
          if (opts.saveSummary) {
            const saved: SummaryFile = {
              summary: result.summary.toJSON(),
              model: {
                file: path,
                text,
                scenario: opts.scenario ?? null,
                ...(Object.keys(opts.set).length ? { decisions: opts.set } : {}),
                ...(paramRows ? { paramRows } : {}),
              },
              ...(result.claimStatistics && !result.summary.partial
                ? { claims: result.claimStatistics.toJSON() }
                : {}),
            };
            const { summaryFileText } = await import("../summary-file.js");
            writeFileAtomic(opts.saveSummary, summaryFileText(saved));
          }
          // A restarted run has no past of its own: its report starts at the restart.
          const report = paramRows?.states ? fromRestart(result.report, paramRows.states) : result.report;
          printResult(io, opts.json, report, formatReport);
          if (result.summary.partial && controller.signal.aborted) exit(EXIT_INTERRUPTED);
        } catch (e) {
          bar.stop();
          exit(await fail(e));
        } finally {
          process.removeListener("SIGINT", onInterrupt);
        }
      });
  },
};

/**
 * A report of runs restarted at a posterior's state, without the tracked points before the restart (the
 * runs hold their start's values there). The restart time is the state's `t`, fourth from its end.
 */
function fromRestart<R extends { tracked: Record<string, { t: number }[]> }>(
  report: R,
  states: { width: number; values: number[] },
): R {
  const start = states.values[states.width - 4]!;
  const tracked = Object.fromEntries(
    Object.entries(report.tracked).map(([name, points]) => [
      name,
      points.filter((p) => p.t >= start - 1e-9 * Math.max(1, Math.abs(start))),
    ]),
  );
  return { ...report, tracked };
}
