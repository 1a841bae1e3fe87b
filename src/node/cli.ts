import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { checkModelText, compileClaims } from "../analysis/check.js";
import { buildReport } from "../analysis/results.js";
import { runMonteCarlo } from "../engine/montecarlo.js";
import { prepareModel } from "../engine/prepare.js";
import { DiagnosticError, formatDiagnostic } from "../lang/diagnostic.js";
import { modelFileJsonSchema } from "../model/schema.js";
import { DEFAULT_MODEL, PACKAGE_ROOT, readModelFile } from "./files.js";
import { formatReport } from "./format.js";

export const EXIT_OK = 0;
export const EXIT_BAD_MODEL = 1;
export const EXIT_USAGE = 2;

const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

function positiveInt(name: string, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max.toLocaleString("en")}`);
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

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
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
    throw e;
  };

  program
    .command("check")
    .description("check a model file — its base model, every scenario and every claim")
    .argument("<file>", "the model file (YAML)")
    .action((file: string) => {
      try {
        const result = checkModelText(file, readModelFile(file));
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
    .option("--runs <n>", "number of runs", positiveInt("--runs", 100_000_000), 1000)
    .option("--seed <s>", "seed: the same seed gives the same numbers on any machine", seedArg, 1)
    .option(
      "--workers <w>",
      "worker threads (results do not depend on it; this version runs on one)",
      positiveInt("--workers", 1024),
    )
    .option("--json", "print one JSON object instead of tables")
    .action(
      (file: string | undefined, opts: { scenario?: string; runs: number; seed: number; json?: boolean }) => {
        const path = file ?? DEFAULT_MODEL;
        try {
          const model = prepareModel(
            path,
            readModelFile(path),
            opts.scenario === undefined ? {} : { scenario: opts.scenario },
          );
          const claims = compileClaims(model.loaded);
          const summary = runMonteCarlo(model, { runs: opts.runs, seed: opts.seed });
          const result = buildReport({
            model: model.loaded.spec.name,
            ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
            seed: opts.seed,
            time: model.loaded.time,
            summary,
            claims,
          });
          io.out(
            opts.json ? `${JSON.stringify(result)}\n` : `${formatReport(result, model.loaded.spec.name)}\n`,
          );
        } catch (e) {
          code = report(e);
        }
      },
    );

  program
    .command("schema")
    .description("print the JSON Schema of model files, for editors")
    .action(() => {
      io.out(`${JSON.stringify(modelFileJsonSchema(), null, 2)}\n`);
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
  }
}
