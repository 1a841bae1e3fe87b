import { DEFAULT_MODEL } from "../package-info.js";
import { terminalSafe } from "../terminal.js";
import {
  given,
  MODEL_ARGUMENT,
  runsOption,
  seedOption,
  type Verb,
  wholeNumber,
  workersOption,
} from "./shared.js";

export const report: Verb = {
  name: "report",
  workers: true,
  register(program, { io, exit, fail }) {
    program
      .command("report")
      .description(
        "write one self-contained HTML report: end states, incidence, fan charts, claims, scenarios, sensitivity, sources",
      )
      .argument(...MODEL_ARGUMENT)
      .requiredOption("-o, --output <file>", "the HTML file to write")
      .addOption(runsOption("runs per scenario", { default: 10_000 }))
      .addOption(seedOption())
      .addOption(workersOption())
      .option(
        "--samples <n>",
        "Sobol design rows for the sensitivity section (0 leaves it out)",
        wholeNumber("--samples", 0, 1e7),
        128,
      )
      .option("--posterior <file>", "a `brink calibrate` posterior: adds the calibration section")
      .option(
        "--predictive-runs <n>",
        "runs behind the calibration section's posterior-predictive fan",
        wholeNumber("--predictive-runs", 1, 1e6),
        1000,
      )
      .action(
        async (
          file: string | undefined,
          opts: {
            output: string;
            runs: number;
            seed: number;
            workers?: number;
            samples: number;
            posterior?: string;
            predictiveRuns: number;
          },
        ) => {
          const path = file ?? DEFAULT_MODEL;
          try {
            const [{ readModel, writeFileAtomic }, { htmlReport }] = await Promise.all([
              import("../files.js"),
              import("../report.js"),
            ]);
            const html = await htmlReport(
              { file: path, text: await readModel(path) },
              {
                runs: opts.runs,
                seed: opts.seed,
                samples: opts.samples,
                predictiveRuns: opts.predictiveRuns,
                ...given("posterior", opts.posterior),
                ...given("workers", opts.workers),
                onStage: (stage) => io.err(`${terminalSafe(stage)}…\n`),
              },
            );
            writeFileAtomic(opts.output, html);
            io.err(terminalSafe(`wrote ${opts.output} (${Math.round(html.length / 1024)} kB)\n`));
          } catch (e) {
            exit(await fail(e));
          }
        },
      );
  },
};
