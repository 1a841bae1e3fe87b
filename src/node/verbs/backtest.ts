import type { BacktestResult, ForecastRuns } from "../../analysis/calibrate/backtest.js";
import { comparisonVerdict, type ForecastComparison } from "../../analysis/calibrate/compare-forecasts.js";
import { convergenceWarning, originConvergence } from "../../analysis/calibrate/convergence.js";
import type { PreparedModel } from "../../engine/prepare.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { table } from "../format.js";
import { terminalSafe } from "../terminal.js";
import {
  EXIT_INTERRUPTED,
  given,
  lookaheadOption,
  printResult,
  redisOption,
  samplerOptions,
  seedArg,
  type Verb,
  wholeNumber,
} from "./shared.js";

interface BacktestFlags {
  origins: string;
  horizon: string;
  priorsOnly?: boolean;
  runs: number;
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  thin: number;
  targetSd?: number;
  lookahead: number;
  maxParticles?: number;
  covariance?: boolean;
  workers?: number;
  k: number;
  output?: string;
  json?: boolean;
  progress?: boolean;
  redis?: string;
  runsOut?: string;
  against?: string;
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

/** The model against each baseline (or another backtest's model): the paired CRPS difference and its interval. */
export function formatComparisons(
  comparisons: readonly ForecastComparison[],
  heading = "model − baseline, mean CRPS on the same periods (negative: the model is better):",
  column = "baseline",
): string {
  const rows = comparisons.map((c) => [
    c.series,
    c.baseline,
    String(c.periods),
    String(c.origins),
    fmt(c.difference),
    c.lo === null || c.hi === null ? "–" : `${fmt(c.lo)} to ${fmt(c.hi)}`,
    comparisonVerdict(c, column === "against" ? "this model" : "the model"),
  ]);
  return [
    heading,
    table(["series", column, "periods", "origins", "difference", "95% interval", "better"], rows),
    `interval: Diebold-Mariano, clustered by origin and by observation time (an origin's forecasts share its calibration, overlapping origins share a month's surprise); rough with few origins. better: ${column === "against" ? "this model or the other" : "the model or the baseline"} when the interval lies wholly on its side of 0, neither when it spans 0`,
  ].join("\n");
}

/** The backtest as text: one row per series and forecaster, the best CRPS of each series marked. */
export function formatBacktest(r: BacktestResult): string {
  const rows = r.summary.map((s) => {
    const best = Math.min(...r.summary.filter((x) => x.series === s.series).map((x) => x.scores.crps));
    const cover = r.coverage?.find((c) => c.series === s.series && c.forecaster === s.forecaster)?.interval90;
    return [
      s.series,
      s.forecaster,
      String(s.scores.periods),
      `${fmt(s.scores.crps)}${s.scores.crps === best ? " *" : ""}`,
      fmt(s.scores.logScore),
      fmt(s.scores.coverage50),
      fmt(s.scores.coverage90),
      cover ? `${cover[0].toFixed(2)}–${cover[1].toFixed(2)}` : "–",
      fmt(s.scores.bias),
      s.forecaster === "model" ? s.scores.pitHistogram.join(" ") : "",
    ];
  });
  const how = r.method === "priors" ? "from the priors" : "calibrated at each origin";
  const ended = r.origins.reduce((a, o) => a + o.ended, 0);
  const convergence = originConvergence(r);
  const warning = convergenceWarning(convergence);
  return [
    `backtest of ${r.model.name}: origins ${r.origins.map((o) => o.label).join(", ")}, horizon ${r.horizon.time}${r.horizon.unit ? ` ${r.horizon.unit}${r.horizon.time === 1 ? "" : "s"}` : ""} (${r.horizon.steps} steps), ${r.runs} runs per origin ${how}, seed ${r.seed}${r.partial ? " — PARTIAL" : ""}`,
    table(
      [
        "series",
        "forecaster",
        "periods",
        "CRPS",
        "log score",
        "cov50",
        "cov90",
        "cov90 95% interval",
        "bias",
        "PIT histogram",
      ],
      rows,
    ),
    "* the lowest CRPS of the series (lower is better; log score higher is better; nominal coverage 0.5 and 0.9; the coverage's interval allows for periods that share an origin or a month)",
    ...(r.comparisons.length ? ["", formatComparisons(r.comparisons)] : []),
    ...(r.against && r.against.comparisons.length === 0
      ? [
          "",
          `${terminalSafe(r.against.file)} scored none of these periods (another series, or other dates): nothing to compare`,
        ]
      : []),
    ...(r.against?.comparisons.length
      ? [
          "",
          formatComparisons(
            r.against.comparisons,
            `this model − the model of ${terminalSafe(r.against.file)} (${terminalSafe(r.against.model)}), mean CRPS on the same periods (negative: this one is better):`,
            "against",
          ),
        ]
      : []),
    ...(r.skipped ? [`${r.skipped} periods left out: a baseline had too short a history there`] : []),
    ...(ended ? [`${ended} forecast runs had ended (or could not match the data) before their origin`] : []),
    ...(convergence.length
      ? [
          "",
          "the calibration at each origin:",
          table(
            ["origin", "acceptance", "largest R-hat", "of param", "smallest ESS", "particles"],
            convergence.map((c) => [
              c.label,
              c.acceptance.toFixed(2),
              Number.isFinite(c.maxRhat) ? c.maxRhat.toFixed(3) : "∞",
              c.worst,
              fmt(c.minEss),
              c.particles === null ? "–" : String(c.particles),
            ]),
          ),
        ]
      : []),
    ...(warning ? [`warning: ${warning}`] : []),
  ].join("\n");
}

/**
 * The `--runs-out` writer: each origin's forecast runs as one Parquet file (src/node/backtest-runs.ts), written
 * here as the origin finishes, since the measurement draws are made on this thread.
 */
async function forecastRunsWriter(
  dir: string,
  file: string,
  model: PreparedModel,
  job: { seed: number; method: string; runs: number; horizonSteps: number },
): Promise<(runs: ForecastRuns) => void> {
  const [{ writeForecastRuns }, { prepareRunsFolder }, { VERSION }, { modelHash }] = await Promise.all([
    import("../backtest-runs.js"),
    import("../runs-parquet.js"),
    import("../files.js"),
    import("../../engine/montecarlo.js"),
  ]);
  prepareRunsFolder(dir);
  const params = model.program.params.map((q) => q.name);
  const metadata = {
    "brink.model": model.loaded.spec.name,
    "brink.model_hash": modelHash(model.loaded.source.text),
    "brink.seed": String(job.seed),
    "brink.method": job.method,
    "brink.runs": String(job.runs),
    "brink.horizon_steps": String(job.horizonSteps),
    "brink.engine_version": VERSION,
    "brink.file": file,
    "brink.columns":
      "run, origin_t, ended, param.NAME, forecast.SERIES@T (the drawn observation, as scored), value.SERIES@T (the model's value); null where the run has none",
  };
  return (runs) => {
    writeForecastRuns(dir, runs, params, metadata);
  };
}

/**
 * `brink backtest FILE --origins D1,D2,… --horizon DURATION`: rolling-origin forecast evaluation against naive
 * baselines. Listed in verbs/index.ts.
 */
export const backtestVerb: Verb = {
  name: "backtest",
  register(program, { io, exit: setCode, fail: report }) {
    lookaheadOption(
      samplerOptions(
        program
          .command("backtest")
          .description(
            "score the model's forecasts from rolling origins against the data and naive baselines",
          )
          .argument("<file>", "the model file, with an 'observations' section")
          .requiredOption(
            "--origins <dates>",
            "forecast origins, comma-separated dates (or model times), increasing",
          )
          .requiredOption("--horizon <duration>", "how far past each origin to forecast, e.g. '7 days'")
          .option("--priors-only", "forecast from the priors instead of calibrating at each origin")
          .option("--runs <n>", "forecast runs per origin", wholeNumber("--runs", 1, 1e7), 1000)
          .option("--seed <s>", "seed: the same seed gives the same scores", seedArg, 1),
        1000,
      ),
    )
      .option("--k <n>", "k of the mean-of-the-last-k baseline", wholeNumber("--k", 2, 1e6), 3)
      .option("-o, --output <file>", "also write an HTML report with the backtest section")
      .option(
        "--runs-out <dir>",
        "also write every forecast run (params, forecasts, model values) as Parquet, one file per origin",
      )
      .addOption(redisOption("the calibration chains and forecast batches"))
      .option("--progress", "show progress even when stderr is not a terminal")
      .option(
        "--against <file>",
        "another backtest's --json from the same origins and horizon (a variant of this model, or a rival): also compare this model with that one, period by period",
      )
      .option("--json", "print the backtest as one JSON object instead of a table")
      .action(async (file: string, opts: BacktestFlags) => {
        let interrupted = false;
        const controller = new AbortController();
        const onInterrupt = () => {
          interrupted = true;
          controller.abort();
        };
        process.once("SIGINT", onInterrupt);
        // Redis clients opened for --redis, closed when the verb ends.
        const opened: { close(): Promise<void> }[] = [];
        try {
          const [
            { backtest, horizonOf, label, parseHorizon, parseOrigins },
            { prepareModel },
            { backtestSection },
            { renderHtml },
            { readModel, writeFileAtomic },
            { loadObservations },
            { UsageError },
            { calibratePool },
          ] = await Promise.all([
            import("../../analysis/calibrate/backtest.js"),
            import("../../engine/prepare.js"),
            import("../../report/backtest.js"),
            import("../../report/html.js"),
            import("../files.js"),
            import("../observations.js"),
            import("../../analysis/simulate.js"),
            import("../calibrate-pool.js"),
          ]);
          const model = prepareModel(file, await readModel(file));
          const series = loadObservations(file, model.loaded);
          if (series.length === 0)
            throw new DiagnosticError([
              model.loaded.source.error(0, "nothing to backtest against: the model has no 'observations'"),
            ]);
          const origins = parseOrigins(model, series, opts.origins);
          if ("error" in origins) throw new UsageError(origins.error);
          const horizon = parseHorizon(model, opts.horizon);
          if ("error" in horizon) throw new UsageError(horizon.error);
          // Read and checked before the long run: a wrong file fails now, not after it.
          const againstModule = opts.against ? await import("../backtest-against.js") : undefined;
          const against = againstModule?.readAgainst(opts.against!);
          if (against)
            againstModule!.checkAgainst(
              against,
              origins.steps.map((step) => label(model, step).label),
              horizonOf(model, horizon.steps),
            );
          const showProgress = opts.progress === true || process.stderr.isTTY === true;
          // With --redis the chains and forecast batches are BullMQ jobs (BullMQ is loaded only then); else
          // worker threads here. Either way the same tasks, so the same result.
          const pool = opts.redis
            ? (await import("../distributed.js")).redisCalibratePool(
                opts.redis,
                { ...given("workers", opts.workers), signal: controller.signal },
                opened,
              )
            : calibratePool(opts.workers);
          const runsOut = opts.runsOut
            ? await forecastRunsWriter(opts.runsOut, file, model, {
                seed: opts.seed,
                method: opts.priorsOnly === true ? "priors" : "posterior",
                runs: opts.runs,
                horizonSteps: horizon.steps,
              })
            : undefined;
          let last = Date.now();
          const scored = await backtest(model, file, series, {
            origins: origins.steps,
            horizonSteps: horizon.steps,
            priorsOnly: opts.priorsOnly === true,
            runs: opts.runs,
            baselineK: opts.k,
            seed: opts.seed,
            chains: opts.chains,
            iterations: opts.iterations,
            burnIn: opts.burnIn,
            particles: opts.particles,
            thin: opts.thin,
            ...given("targetSd", opts.targetSd),
            ...(opts.lookahead ? { lookahead: opts.lookahead } : {}),
            ...given("maxParticles", opts.maxParticles),
            ...(opts.covariance ? { covariance: true } : {}),
            // The chains of each origin's calibration run on worker threads (the same result on any number).
            ...given("pool", pool),
            ...given("onForecastRuns", runsOut),
            onProgress: (o, chain, it, acceptance) => {
              if (!showProgress || Date.now() - last < 1000) return;
              last = Date.now();
              io.err(
                `origin ${o + 1}/${origins.steps.length}: chain ${chain + 1}/${opts.chains}, iteration ${it + 1}/${opts.burnIn + opts.iterations}, acceptance ${acceptance.toFixed(2)}\n`,
              );
            },
            shouldStop: () => interrupted,
            pause: () => new Promise((resolve) => setImmediate(resolve)),
          });
          const result = against
            ? { ...scored, against: againstModule!.againstComparisons(scored, against) }
            : scored;
          if (opts.output) {
            const html = renderHtml({
              title: `${result.model.name}: backtest`,
              subtitle: file,
              sections: [await backtestSection(result)],
              metadata: {
                model: file,
                origins: result.origins.map((o) => o.label).join(", "),
                horizon: `${opts.horizon} (${result.horizon.steps} steps)`,
                forecasts: result.method === "priors" ? "from the priors" : "calibrated at each origin",
                runs: String(result.runs),
                seed: String(result.seed),
                ...(result.against ? { against: result.against.file } : {}),
              },
            });
            writeFileAtomic(opts.output, html);
          }
          printResult(io, opts.json, result, formatBacktest);
          if (opts.output && !opts.json) io.out(`wrote ${opts.output}\n`);
          if (result.partial) setCode(EXIT_INTERRUPTED);
        } catch (e) {
          setCode(await report(e));
        } finally {
          process.removeListener("SIGINT", onInterrupt);
          await Promise.all(opened.map((o) => o.close().catch(() => {})));
        }
      });
  },
};
