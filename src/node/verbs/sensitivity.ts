import { Option } from "commander";
import { DEFAULT_MODEL } from "../package-info.js";
import {
  given,
  jsonOption,
  MODEL_ARGUMENT,
  printResult,
  redisOption,
  scenarioOption,
  seedOption,
  type Verb,
  wholeNumber,
  workersOption,
} from "./shared.js";

interface SensitivityOptions {
  scenario?: string;
  method: "sobol" | "morris";
  samples?: number;
  replicates?: number;
  batches?: number;
  seed: number;
  workers?: number;
  target?: string[];
  redis?: string;
  top: number;
  json?: boolean;
}

export const sensitivity: Verb = {
  name: "sensitivity",
  workers: true,
  register(program, { io, exit, fail }) {
    program
      .command("sensitivity")
      .description(
        "which uncertain params carry each outcome, each claim and each --target (Sobol indices or Morris screening)",
      )
      .argument(...MODEL_ARGUMENT)
      .addOption(scenarioOption("analyse a scenario of the model"))
      .addOption(
        new Option("--method <m>", "sobol (variance-based, with jackknife intervals) or morris (screening)")
          .choices(["sobol", "morris"])
          .default("sobol"),
      )
      .option(
        "--samples <n>",
        "design rows (sobol: runs = n·(params + 2)·replicates) or Morris trajectories",
        wholeNumber("--samples", 2, 1e7),
      )
      .option("--replicates <r>", "runs averaged per evaluation", wholeNumber("--replicates", 1, 1e6))
      .option(
        "--batches <b>",
        "sobol: independently shifted batches of design rows, for the intervals' jackknife (default 16)",
        wholeNumber("--batches", 2, 1024),
      )
      .addOption(seedOption())
      .addOption(workersOption("worker threads (default: the cores; results do not depend on it)"))
      .option("--target <term...>", "also analyse E(var at TIME)")
      .addOption(redisOption("the design's rows"))
      .option("--top <n>", "params shown per target", wholeNumber("--top", 1, 1000), 8)
      .addOption(jsonOption())
      .action(async (file: string | undefined, opts: SensitivityOptions) => {
        const path = file ?? DEFAULT_MODEL;
        const opened: { close(): Promise<void> }[] = [];
        const controller = new AbortController();
        const stop = () => controller.abort();
        try {
          const [
            { sensitivityAnalysis },
            { readModel },
            { formatSensitivity },
            { progressBar },
            { designPool },
          ] = await Promise.all([
            import("../../analysis/sensitivity-job.js"),
            import("../files.js"),
            import("../format.js"),
            import("../progress.js"),
            import("../simulate.js"),
          ]);
          let pool = opts.redis === undefined ? designPool(opts.workers) : undefined;
          if (opts.redis !== undefined) {
            const { redisDesignPool } = await import("../distributed.js");
            process.once("SIGINT", stop);
            pool = redisDesignPool(
              opts.redis,
              { ...given("workers", opts.workers), signal: controller.signal },
              opened,
            );
          }
          const bar = progressBar();
          const started = performance.now();
          const result = await sensitivityAnalysis(
            { file: path, text: await readModel(path) },
            {
              method: opts.method,
              seed: opts.seed,
              ...given("scenario", opts.scenario),
              ...given("samples", opts.samples),
              ...given("replicates", opts.replicates),
              ...given("batches", opts.batches),
              ...given("targets", opts.target),
              onProgress: (done, total) => {
                const elapsedSeconds = (performance.now() - started) / 1000;
                bar.update({
                  done,
                  total,
                  elapsedSeconds,
                  runsPerSecond: done / Math.max(elapsedSeconds, 1e-9),
                });
              },
            },
            pool,
          );
          bar.stop();
          printResult(io, opts.json, result, (r) => formatSensitivity(r, opts.top));
        } catch (e) {
          if (controller.signal.aborted) {
            // A sensitivity analysis has no partial result; what was waiting is withdrawn from the queue.
            io.err("brink: stopped; the design's waiting parts were withdrawn from the queue\n");
            exit(130);
          } else exit(await fail(e));
        } finally {
          process.removeListener("SIGINT", stop);
          await Promise.all(opened.map((o) => o.close().catch(() => {})));
        }
      });
  },
};
