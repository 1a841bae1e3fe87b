/**
 * What every verb file shares: the context a verb runs in (output streams, exit code, error reporting), the
 * argument parsers, builders for the options several verbs take, and the one switch between --json and text.
 */
import { availableParallelism } from "node:os";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Simulator } from "../../analysis/compare.js";
import { DiagnosticError, formatDiagnostic } from "../../lang/diagnostic.js";
import { terminalSafe } from "../terminal.js";

export const EXIT_OK = 0;
export const EXIT_BAD_MODEL = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C: the partial summary was printed. */
export const EXIT_INTERRUPTED = 130;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** What a verb's action gets besides its arguments. */
export interface VerbContext {
  io: Io;
  /** Set the process's exit code (the last call wins). */
  exit(code: number): void;
  /** Print an expected failure (bad model, bad usage, unwritable file) and return its exit code; rethrow bugs. */
  fail(e: unknown): Promise<number>;
}

/**
 * A verb: one file in src/node/verbs, registered in verbs/index.ts. Registering loads nothing heavy: each action
 * imports what it needs when it runs (`await import(…)`), so `brink --version`, `--help` and light verbs start
 * fast.
 */
export interface Verb {
  name: string;
  register(program: Command, ctx: VerbContext): void;
  /** The verb may start worker threads, which the CLI stops when the verb is done. */
  workers?: boolean;
}

export function makeContext(io: Io, setCode: (code: number) => void): VerbContext {
  return {
    io,
    exit: setCode,
    async fail(e) {
      if (e instanceof DiagnosticError) {
        for (const d of e.diagnostics) io.err(`${terminalSafe(formatDiagnostic(d))}\n`);
        return EXIT_BAD_MODEL;
      }
      // The other expected errors' modules are loaded here, not up front: a verb that threw one has loaded it.
      const [{ UsageError }, { SummaryMismatchError }, { FileWriteError }, { RedisError }] =
        await Promise.all([
          import("../../analysis/simulate.js"),
          import("../../engine/summary.js"),
          import("../files.js"),
          import("../redis-error.js"),
        ]);
      if (e instanceof UsageError) {
        io.err(`brink: ${terminalSafe(e.message)}\n`);
        return EXIT_USAGE;
      }
      if (e instanceof SummaryMismatchError || e instanceof FileWriteError || e instanceof RedisError) {
        io.err(`brink: ${terminalSafe(e.message)}\n`);
        return EXIT_BAD_MODEL;
      }
      throw e;
    },
  };
}

/**
 * The one output switch: `--json` prints the result as one JSON object, else its text form. Text goes through
 * `terminalSafe`, so names and strings from a model file cannot send escape sequences to the terminal.
 */
export function printResult<T>(io: Io, json: boolean | undefined, result: T, text: (r: T) => string): void {
  io.out(json ? `${JSON.stringify(result)}\n` : `${terminalSafe(text(result))}\n`);
}

// ---- argument parsers ----

/** Digits, optionally with a power of ten (`1e6`, `25e4`) or thousands separators (`1_000_000`). */
const WHOLE_NUMBER = /^(\d{1,3}(_\d{3})+|\d+)(e\d{1,2})?$/i;

export function wholeNumber(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = WHOLE_NUMBER.test(text) ? Number(text.replaceAll("_", "")) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        `${name} must be a whole number from ${min} to ${max.toLocaleString("en")} (digits, or a power of ten such as 1e6)`,
      );
    }
    return value;
  };
}

export function seedArg(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError("the seed must be a whole number from 0 to 2^53 − 1");
  }
  return Number(text);
}

export function probability(text: string): number {
  const x = Number(text);
  if (!/^[0-9.eE+-]+$/.test(text) || !(x > 0 && x < 0.5))
    throw new InvalidArgumentError("--precision must be a number between 0 and 0.5, such as 0.005");
  return x;
}

export function decisionArg(text: string, previous: Record<string, number>): Record<string, number> {
  const m = /^([\p{L}_][\p{L}\p{N}_]*)=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$/u.exec(text);
  if (!m) throw new InvalidArgumentError(`--set takes NAME=NUMBER, not '${text}'`);
  return { ...previous, [m[1]!]: Number(m[2]) };
}

// ---- options several verbs take (each verb keeps its own help text) ----

export const MODEL_ARGUMENT = ["[file]", "the model file (default: the bundled main model)"] as const;

export const seedOption = (description = "seed") =>
  new Option("--seed <s>", description).argParser(seedArg).default(1);

export const workersOption = (description = "worker threads") =>
  new Option("--workers <w>", description).argParser(wholeNumber("--workers", 1, 64));

export const WORKERS_HELP_RUN = `worker threads (default: the machine's cores, here ${availableParallelism()}); results do not depend on it`;

export function runsOption(
  description: string,
  range: { min?: number; max?: number; default?: number } = {},
) {
  const option = new Option("--runs <n>", description).argParser(
    wholeNumber("--runs", range.min ?? 1, range.max ?? 1e9),
  );
  return range.default === undefined ? option : option.default(range.default);
}

export const scenarioOption = (description: string) => new Option("--scenario <name>", description);

/** `--data FILE` (repeatable): the data files of a Vensim model's data variables. */
export const dataOption = () =>
  new Option(
    "--data <file>",
    "a data file (tab or CSV, as Vensim exports a run) for a Vensim .mdl model's data variables; repeat for several",
  ).argParser((file: string, previous: string[] | undefined) => [...(previous ?? []), file]);

export const jsonOption = (description = "print one JSON object instead of tables") =>
  new Option("--json", description);

/** `{ key: value }` when value is defined, else `{}`: optional settings passed on only when given. */
export const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** A parser of a number > 0 for `flag`. */
export const positiveNumber =
  (flag: string) =>
  (text: string): number => {
    const x = Number(text);
    if (text.trim() === "" || !(x > 0) || !Number.isFinite(x))
      throw new InvalidArgumentError(`${flag} must be a number > 0, not '${text}'`);
    return x;
  };

/**
 * The PMMH sampler's options, shared by calibrate and backtest: chains, iterations, burn-in, particles, thinning,
 * adaptive particle numbers, full-covariance proposals, workers. */
/** `--lookahead` (calibrate and backtest: the verbs whose particle filter uses it). */
export function lookaheadOption(command: Command): Command {
  return command.option(
    "--lookahead <k>",
    "particle filter: also weigh and resample particles at k steps inside each observed change period (normal or lognormal noise), by the observation's density around the change so far, widened by a pilot's error — unbiased; less noisy where the measurement is tight (0: off)",
    wholeNumber("--lookahead", 0, 64),
    0,
  );
}

export function samplerOptions(command: Command, iterations: number): Command {
  return command
    .option("--chains <n>", "independent calibration chains", wholeNumber("--chains", 1, 64), 4)
    .option(
      "--iterations <n>",
      "calibration iterations per chain after burn-in, each kept with --thin 1",
      wholeNumber("--iterations", 1, 1e6),
      iterations,
    )
    .option(
      "--burn-in <n>",
      "adaptation iterations per chain, discarded",
      wholeNumber("--burn-in", 0, 1e6),
      500,
    )
    .option("--particles <n>", "particles per likelihood estimate", wholeNumber("--particles", 1, 1e6), 200)
    .option(
      "--thin <k>",
      "keep every k-th iteration after burn-in (1: all); memory is bounded by the draws kept",
      wholeNumber("--thin", 1, 1e6),
      1,
    )
    .option(
      "--target-sd <sd>",
      "adaptive particle numbers: each chain raises its particles (at 1/4, 1/2 and 3/4 of burn-in) so that the log-likelihood estimate's sd is about this (e.g. 1.2), and aims its steps at the acceptance that noise allows",
      positiveNumber("--target-sd"),
    )
    .option(
      "--max-particles <n>",
      "adaptive particle numbers: at most this many (default 16 × --particles; never more than 512 MiB of filter state)",
      wholeNumber("--max-particles", 1, 1e7),
    )
    .option(
      "--covariance",
      "adapt the proposal's full covariance at half of burn-in (Haario et al. 2001), not only each param's sd",
    )
    .addOption(
      workersOption(
        `worker threads for chains and filter runs (default: the machine's cores, here ${availableParallelism()}); results do not depend on it`,
      ),
    );
}

export const redisOption = (what: string) =>
  new Option(
    "--redis <url>",
    `run ${what} on \`brink worker\`s through this Redis server (same result as locally)`,
  );

/**
 * With --redis, a simulator whose Monte Carlo chunks go to `brink worker`s through Redis (BullMQ is loaded only
 * then); without it, undefined: this machine's worker threads.
 */
export async function redisSimulator(url: string | undefined): Promise<Simulator | undefined> {
  if (url === undefined) return undefined;
  const { simulateOnRedis } = await import("../distributed.js");
  return (input, options) => simulateOnRedis(input, options, url);
}
