import { DEFAULT_MODEL, VERSION } from "../package-info.js";
import {
  given,
  jsonOption,
  MODEL_ARGUMENT,
  printResult,
  redisOption,
  redisSimulator,
  runsOption,
  seedOption,
  type Verb,
  workersOption,
} from "./shared.js";

export const compare: Verb = {
  name: "compare",
  workers: true,
  register(program, { io, exit, fail }) {
    program
      .command("compare")
      .description("run scenarios side by side on the same random numbers, with paired differences")
      .argument(...MODEL_ARGUMENT)
      .requiredOption(
        "--scenarios <list>",
        "comma-separated scenarios; 'base' is the base model; differences are against the first",
      )
      .addOption(runsOption("runs per scenario", { default: 1000 }))
      .addOption(seedOption("seed (shared by every scenario: common random numbers)"))
      .addOption(workersOption())
      .addOption(redisOption("every scenario's runs"))
      .option(
        "--runs-out <dir>",
        "also write every run of every scenario as Parquet, into <dir>/scenario=NAME/, one file per chunk",
      )
      .addOption(jsonOption())
      .action(
        async (
          file: string | undefined,
          opts: {
            scenarios: string;
            runs: number;
            seed: number;
            workers?: number;
            runsOut?: string;
            redis?: string;
            json?: boolean;
          },
        ) => {
          const path = file ?? DEFAULT_MODEL;
          try {
            const [{ compareScenarios }, { readModel }, { formatComparison }] = await Promise.all([
              import("../compare.js"),
              import("../files.js"),
              import("../format.js"),
            ]);
            if (opts.runsOut) (await import("../runs-parquet.js")).prepareRunsFolder(opts.runsOut);
            const result = await compareScenarios(
              { file: path, text: await readModel(path) },
              opts.scenarios
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean),
              {
                runs: opts.runs,
                seed: opts.seed,
                ...given("workers", opts.workers),
                // The text prints outcomes alone, so each tracked variable is summarised at its last save only.
                ...(!opts.json && !opts.redis ? { trackedCells: "last" as const } : {}),
                ...(opts.runsOut
                  ? {
                      runsOut: {
                        dir: opts.runsOut,
                        metadata: { "brink.engine_version": VERSION, "brink.file": path },
                        scenarios: true,
                      },
                    }
                  : {}),
              },
              await redisSimulator(opts.redis),
            );
            printResult(io, opts.json, result, formatComparison);
          } catch (e) {
            exit(await fail(e));
          }
        },
      );
  },
};
