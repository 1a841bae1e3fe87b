import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { checkModelText, compileClaims } from "../analysis/check.js";
import { buildReport } from "../analysis/results.js";
import { sensitivityAnalysis } from "../analysis/sensitivity-job.js";
import { prepareModel } from "../engine/prepare.js";
import { Summary, type SummaryJSON, SummaryMismatchError } from "../engine/summary.js";
import { importXmile } from "../io/xmile.js";
import { exportXmile } from "../io/xmile-export.js";
import { DiagnosticError, formatDiagnostic } from "../lang/diagnostic.js";
import { loadModel } from "../model/load.js";
import { modelFileJsonSchema } from "../model/schema.js";
import { compareScenarios } from "./compare.js";
import { RELATIVE_TOLERANCE, runConformance } from "./conformance.js";
import { DEFAULT_MODEL, readModel, readModelFile, VERSION, writeFileAtomic } from "./files.js";
import { formatComparison, formatOptimization, formatReport, formatSensitivity, table } from "./format.js";
import { optimize } from "./optimize.js";
import { progressBar } from "./progress.js";
import { htmlReport, optimizationReport } from "./report.js";
import { serveApp } from "./serve.js";
import { closeWorkers, designPool, simulate, UsageError } from "./simulate.js";
import { posteriorParamRows, registerCalibrate } from "./verbs/calibrate.js";

export const EXIT_OK = 0;
export const EXIT_BAD_MODEL = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C: the partial summary was printed. */
export const EXIT_INTERRUPTED = 130;

function wholeNumber(name: string, min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(
        `${name} must be a whole number from ${min} to ${max.toLocaleString("en")}`,
      );
    }
    return Number(text);
  };
}

function seedArg(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError("the seed must be a whole number from 0 to 2^53 − 1");
  }
  return Number(text);
}

function probability(text: string): number {
  const x = Number(text);
  if (!/^[0-9.eE+-]+$/.test(text) || !(x > 0 && x < 0.5))
    throw new InvalidArgumentError("--precision must be a number between 0 and 0.5, such as 0.005");
  return x;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A saved summary: the mergeable statistics plus the model they came from (so merging can check claims). */
interface SummaryFile {
  summary: SummaryJSON;
  model: { file: string; text: string; scenario: string | null };
}

function decisionArg(text: string, previous: Record<string, number>): Record<string, number> {
  const m = /^([\p{L}_][\p{L}\p{N}_]*)=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$/u.exec(text);
  if (!m) throw new InvalidArgumentError(`--set takes NAME=NUMBER, not '${text}'`);
  return { ...previous, [m[1]!]: Number(m[2]) };
}

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
  progress?: boolean;
  json?: boolean;
  posterior?: string;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  let code = EXIT_OK;
  const program = new Command("brink")
    .description("Run strategic arguments as explicit stochastic models: check them, run them, compare them.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const report = (e: unknown): number => {
    if (e instanceof DiagnosticError) {
      for (const d of e.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
      return EXIT_BAD_MODEL;
    }
    if (e instanceof UsageError) {
      io.err(`brink: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof SummaryMismatchError) {
      io.err(`brink: ${e.message}\n`);
      return EXIT_BAD_MODEL;
    }
    throw e;
  };

  program
    .command("check")
    .description("check a model file — its base model, every scenario and every claim")
    .argument("<file>", "the model file (YAML)")
    .action((file: string) => {
      try {
        const result = checkModelText(file, readModel(file));
        for (const d of result.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
        if (result.diagnostics.length) {
          code = EXIT_BAD_MODEL;
          return;
        }
        io.out(`${file}: ok (${result.variants.join(", ")})\n`);
      } catch (e) {
        code = report(e);
      }
    });

  program
    .command("run")
    .description("run a model as Monte Carlo and print the end states, tracked values and claims")
    .argument("[file]", "the model file (default: the bundled main model)")
    .option("--scenario <name>", "run a scenario of the model instead of its base")
    .option(
      "--runs <n>",
      "number of runs (default 1000; with --precision, the most allowed, default 1,000,000)",
      wholeNumber("--runs", 1, 1e9),
    )
    .option("--seed <s>", "seed: the same seed gives the same numbers on any machine", seedArg, 1)
    .option(
      "--workers <w>",
      `worker threads (default: the machine's cores, here ${availableParallelism()}); results do not depend on it`,
      wholeNumber("--workers", 1, 64),
    )
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
      "--set <decision=value...>",
      "set decision variables, e.g. --set min_review_interval=6",
      decisionArg,
      {},
    )
    .option("--progress", "show a progress bar even when stderr is not a terminal")
    .option("--json", "print one JSON object instead of tables")
    .option(
      "--posterior <file>",
      "take the uncertain params from a `brink calibrate` posterior, a draw per run",
    )
    .action(async (file: string | undefined, opts: RunOptions) => {
      const path = file ?? DEFAULT_MODEL;
      const bar = progressBar(opts.progress ? { force: true } : {});
      const controller = new AbortController();
      const onInterrupt = () => controller.abort();
      process.once("SIGINT", onInterrupt);
      try {
        const text = readModel(path);
        const result = await simulate(
          { file: path, text },
          {
            seed: opts.seed,
            sampling: opts.sampling,
            firstRun: opts.firstRun,
            signal: controller.signal,
            onProgress: (p) => bar.update(p),
            ...(opts.runs !== undefined ? { runs: opts.runs } : {}),
            ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
            ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
            ...(opts.precision !== undefined ? { precision: opts.precision } : {}),
            ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
            ...(Object.keys(opts.set).length ? { decisions: opts.set } : {}),
            ...(opts.posterior ? { paramRows: posteriorParamRows(opts.posterior, path, text) } : {}),
          },
        );
        bar.stop();
        if (opts.saveSummary) {
          const saved: SummaryFile = {
            summary: result.summary.toJSON(),
            model: { file: path, text, scenario: opts.scenario ?? null },
          };
          writeFileAtomic(opts.saveSummary, JSON.stringify(saved));
        }
        io.out(opts.json ? `${JSON.stringify(result.report)}\n` : `${formatReport(result.report)}\n`);
        if (result.summary.partial && controller.signal.aborted) code = EXIT_INTERRUPTED;
      } catch (e) {
        bar.stop();
        code = report(e);
      } finally {
        process.removeListener("SIGINT", onInterrupt);
      }
    });

  program
    .command("merge")
    .description(
      "merge summaries saved by `brink run --save-summary` (disjoint runs of one job) and report them",
    )
    .argument("<files...>", "summary files")
    .option("--save-summary <file>", "write the merged summary to this file")
    .option("--json", "print one JSON object instead of tables")
    .action((files: string[], opts: { saveSummary?: string; json?: boolean }) => {
      try {
        let merged: Summary | undefined;
        let first: SummaryFile | undefined;
        for (const f of files) {
          let parsed: SummaryFile;
          try {
            parsed = JSON.parse(readFileSync(f, "utf8")) as SummaryFile;
            if (!parsed.summary || !parsed.model) throw new Error("missing fields");
          } catch (e) {
            throw new DiagnosticError([
              {
                file: f,
                line: 1,
                col: 1,
                message: `not a Brink summary file (${e instanceof Error ? e.message : String(e)})`,
              },
            ]);
          }
          const s = Summary.fromJSON(parsed.summary);
          if (merged) merged.merge(s);
          else {
            merged = s;
            first = parsed;
          }
        }
        const model = prepareModel(
          first!.model.file,
          first!.model.text,
          first!.model.scenario === null ? {} : { scenario: first!.model.scenario },
        );
        const result = buildReport({
          time: model.loaded.time,
          summary: merged!,
          claims: compileClaims(model.loaded),
        });
        if (opts.saveSummary)
          writeFileAtomic(
            opts.saveSummary,
            JSON.stringify({ summary: merged!.toJSON(), model: first!.model }),
          );
        io.out(opts.json ? `${JSON.stringify(result)}\n` : `${formatReport(result)}\n`);
      } catch (e) {
        code = report(e);
      }
    });

  program
    .command("sensitivity")
    .description(
      "which uncertain params carry each outcome, each claim and each --target (Sobol indices or Morris screening)",
    )
    .argument("[file]", "the model file (default: the bundled main model)")
    .option("--scenario <name>", "analyse a scenario of the model")
    .addOption(
      new Option("--method <m>", "sobol (variance-based, with bootstrap intervals) or morris (screening)")
        .choices(["sobol", "morris"])
        .default("sobol"),
    )
    .option(
      "--samples <n>",
      "design rows (sobol: runs = n·(params + 2)·replicates) or Morris trajectories",
      wholeNumber("--samples", 2, 1e7),
    )
    .option("--replicates <r>", "runs averaged per evaluation", wholeNumber("--replicates", 1, 1e6))
    .option("--seed <s>", "seed", seedArg, 1)
    .option(
      "--workers <w>",
      "worker threads (default: the cores; results do not depend on it)",
      wholeNumber("--workers", 1, 64),
    )
    .option("--target <term...>", "also analyse E(var at TIME)")
    .option("--top <n>", "params shown per target", wholeNumber("--top", 1, 1000), 8)
    .option("--json", "print one JSON object instead of tables")
    .action(
      async (
        file: string | undefined,
        opts: {
          scenario?: string;
          method: "sobol" | "morris";
          samples?: number;
          replicates?: number;
          seed: number;
          workers?: number;
          target?: string[];
          top: number;
          json?: boolean;
        },
      ) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const bar = progressBar();
          const started = performance.now();
          const result = await sensitivityAnalysis(
            { file: path, text: readModel(path) },
            {
              method: opts.method,
              seed: opts.seed,
              ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
              ...(opts.samples !== undefined ? { samples: opts.samples } : {}),
              ...(opts.replicates !== undefined ? { replicates: opts.replicates } : {}),
              ...(opts.target ? { targets: opts.target } : {}),
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
            designPool(opts.workers),
          );
          bar.stop();
          io.out(opts.json ? `${JSON.stringify(result)}\n` : `${formatSensitivity(result, opts.top)}\n`);
        } catch (e) {
          code = report(e);
        }
      },
    );

  program
    .command("compare")
    .description("run scenarios side by side on the same random numbers, with paired differences")
    .argument("[file]", "the model file (default: the bundled main model)")
    .requiredOption(
      "--scenarios <list>",
      "comma-separated scenarios; 'base' is the base model; differences are against the first",
    )
    .option("--runs <n>", "runs per scenario", wholeNumber("--runs", 1, 1e9), 1000)
    .option("--seed <s>", "seed (shared by every scenario: common random numbers)", seedArg, 1)
    .option("--workers <w>", "worker threads", wholeNumber("--workers", 1, 64))
    .option("--json", "print one JSON object instead of tables")
    .action(
      async (
        file: string | undefined,
        opts: { scenarios: string; runs: number; seed: number; workers?: number; json?: boolean },
      ) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const result = await compareScenarios(
            { file: path, text: readModel(path) },
            opts.scenarios
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
            {
              runs: opts.runs,
              seed: opts.seed,
              ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
            },
          );
          io.out(opts.json ? `${JSON.stringify(result)}\n` : `${formatComparison(result)}\n`);
        } catch (e) {
          code = report(e);
        }
      },
    );

  program
    .command("report")
    .description(
      "write one self-contained HTML report: end states, incidence, fan charts, claims, scenarios, sensitivity, sources",
    )
    .argument("[file]", "the model file (default: the bundled main model)")
    .requiredOption("-o, --output <file>", "the HTML file to write")
    .option("--runs <n>", "runs per scenario", wholeNumber("--runs", 1, 1e9), 10_000)
    .option("--seed <s>", "seed", seedArg, 1)
    .option("--workers <w>", "worker threads", wholeNumber("--workers", 1, 64))
    .option(
      "--samples <n>",
      "Sobol design rows for the sensitivity section (0 leaves it out)",
      wholeNumber("--samples", 0, 1e7),
      128,
    )
    .action(
      async (
        file: string | undefined,
        opts: { output: string; runs: number; seed: number; workers?: number; samples: number },
      ) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const html = await htmlReport(
            { file: path, text: readModel(path) },
            {
              runs: opts.runs,
              seed: opts.seed,
              samples: opts.samples,
              ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
              onStage: (stage) => io.err(`${stage}…\n`),
            },
          );
          writeFileAtomic(opts.output, html);
          io.err(`wrote ${opts.output} (${Math.round(html.length / 1024)} kB)\n`);
        } catch (e) {
          code = report(e);
        }
      },
    );

  program
    .command("optimize")
    .description(
      "find the decisions that maximise an objective while constraints hold with 95% confidence (cross-entropy method, common random numbers)",
    )
    .argument("[file]", "the model file (default: the bundled main model)")
    .requiredOption("--maximize <term>", "what to maximise: an E(var at TIME) or P(…) term")
    .requiredOption(
      "--subject-to <constraint...>",
      'constraints such as "P(nuclear_use by 2030-08-21) <= 0.01"',
    )
    .option("--runs <n>", "runs per candidate", wholeNumber("--runs", 10, 1e8), 1000)
    .option("--iterations <n>", "cross-entropy iterations", wholeNumber("--iterations", 1, 1000), 8)
    .option("--candidates <n>", "candidates per iteration", wholeNumber("--candidates", 2, 10000), 10)
    .option(
      "--frontier <bounds>",
      "re-optimise with these bounds for the first constraint, e.g. 0.001,0.005,0.01,0.02,0.05",
    )
    .option("--scenario <name>", "optimise within a scenario")
    .option("--vary <names>", "comma-separated decisions to vary (default: all)")
    .option("--seed <s>", "seed", seedArg, 1)
    .option("--workers <w>", "worker threads", wholeNumber("--workers", 1, 64))
    .option(
      "--report <file>",
      "also write an HTML report: frontier, decisions, and incremental vs single vs no deployment",
    )
    .option("--single-scenario <name>", "the scenario with one deployment, for --report", "single_deployment")
    .option("--none-scenario <name>", "the scenario with no deployment, for --report", "no_deployment")
    .option("--json", "print one JSON object instead of tables")
    .action(
      async (
        file: string | undefined,
        opts: {
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
          singleScenario: string;
          noneScenario: string;
          json?: boolean;
        },
      ) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const frontier = opts.frontier?.split(",").map((x) => Number(x.trim()));
          if (frontier?.some((x) => !Number.isFinite(x)))
            throw new UsageError(`--frontier takes numbers separated by commas, not '${opts.frontier}'`);
          const bar = progressBar();
          const started = performance.now();
          const result = await optimize(
            { file: path, text: readModel(path) },
            {
              maximize: opts.maximize,
              subjectTo: opts.subjectTo,
              runs: opts.runs,
              iterations: opts.iterations,
              candidates: opts.candidates,
              seed: opts.seed,
              ...(frontier ? { frontier } : {}),
              ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
              ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
              ...(opts.vary !== undefined ? { vary: opts.vary.split(",").map((v) => v.trim()) } : {}),
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
          );
          bar.stop();
          if (opts.report) {
            const html = await optimizationReport({ file: path, text: readModel(path) }, result, {
              singleScenario: opts.singleScenario,
              noneScenario: opts.noneScenario,
              sizeDecision: "single_deployment_size",
              sizeVariable: "western_troops",
              ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
            });
            writeFileAtomic(opts.report, html);
          }
          io.out(opts.json ? `${JSON.stringify(result)}\n` : `${formatOptimization(result)}\n`);
        } catch (e) {
          code = report(e);
        }
      },
    );

  program
    .command("import")
    .description("convert an XMILE model (.xmile, .stmx) to a Brink model file")
    .argument("<file>", "the XMILE file")
    .requiredOption("-o, --output <file>", "the Brink YAML file to write")
    .action((file: string, opts: { output: string }) => {
      try {
        const yaml = importXmile(file, readModelFile(file)).yaml;
        // Check what was produced before writing it, so a bad import never leaves a file behind.
        const problems = checkModelText(opts.output, yaml).diagnostics;
        for (const d of problems) io.err(`${formatDiagnostic(d)}\n`);
        if (problems.length) {
          code = EXIT_BAD_MODEL;
          return;
        }
        writeFileAtomic(opts.output, yaml);
        io.err(`wrote ${opts.output}\n`);
      } catch (e) {
        code = report(e);
      }
    });

  program
    .command("export")
    .description("write a Brink model as XMILE (what XMILE cannot say is kept in brink: elements)")
    .argument("<file>", "the Brink model file")
    .requiredOption("-o, --output <file>", "the XMILE file to write")
    .option("--scenario <name>", "export a scenario of the model")
    .action((file: string, opts: { output: string; scenario?: string }) => {
      try {
        const loaded = loadModel(
          file,
          readModel(file),
          opts.scenario === undefined ? {} : { scenario: opts.scenario },
        );
        writeFileAtomic(opts.output, exportXmile(loaded));
        io.err(`wrote ${opts.output}\n`);
      } catch (e) {
        code = report(e);
      }
    });

  program
    .command("conformance")
    .description(
      "run the XMILE conformance suite (SDXorg test-models) and print passed / failed / unsupported / invalid",
    )
    .argument("<dir>", "the suite's folder (with tests/ and samples/)")
    .option("--json", "print one JSON object instead of a table")
    .action((dir: string, opts: { json?: boolean }) => {
      const rows = runConformance(dir);
      if (opts.json) io.out(`${JSON.stringify(rows)}\n`);
      else {
        io.out(
          `${table(
            ["folder", "status", "detail"],
            rows.map((r) => [r.folder, r.status, r.detail]),
          )}\n`,
        );
        const count = (s: string) => rows.filter((r) => r.status === s).length;
        io.out(
          `\n${count("passed")} passed, ${count("failed")} failed, ${count("unsupported")} unsupported, ${count("invalid")} invalid model files (relative tolerance ${RELATIVE_TOLERANCE})\n`,
        );
      }
    });

  program
    .command("serve")
    .description("serve the browser app on localhost (the flagship opens; models run in your browser)")
    .option("--port <n>", "port (0: any free port)", "8080")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .action(async (opts: { port: string; host: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        io.err(`brink serve: --port must be a port number, not '${opts.port}'\n`);
        code = EXIT_USAGE;
        return;
      }
      try {
        const { server, url } = await serveApp(port, opts.host);
        io.out(`Brink is running at ${url} (Ctrl-C to stop)\n`);
        await new Promise((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        server.close();
        server.closeAllConnections();
      } catch (e) {
        io.err(`brink serve: ${e instanceof Error ? e.message : String(e)}\n`);
        code = 1;
      }
    });

  program
    .command("schema")
    .description("print the JSON Schema of model files, for editors")
    .action(() => {
      io.out(`${JSON.stringify(modelFileJsonSchema(), null, 2)}\n`);
    });

  registerCalibrate(program, io, report, (c) => {
    code = c;
  });

  try {
    if (argv.length === 0) {
      io.err(program.helpInformation());
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
        ? EXIT_OK
        : EXIT_USAGE;
    }
    throw e;
  } finally {
    // Worker threads would otherwise linger for their idle timeout before the process can exit.
    await closeWorkers();
  }
}
