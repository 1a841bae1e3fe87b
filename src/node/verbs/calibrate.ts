import { InvalidArgumentError } from "commander";
import type { PosteriorFile } from "../../analysis/calibrate/calibrate.js";
import { RHAT_WARN, settledRhat } from "../../analysis/calibrate/convergence.js";
import type { ParamRows } from "../../engine/run.js";
import { DiagnosticError } from "../../lang/diagnostic.js";
import { table } from "../format.js";
import { jsonValuePosition } from "../json-position.js";
import {
  EXIT_INTERRUPTED,
  given,
  lookaheadOption,
  samplerOptions,
  seedArg,
  type Verb,
  wholeNumber,
} from "./shared.js";

interface CalibrateFlags {
  until?: string;
  seed: number;
  chains: number;
  iterations: number;
  burnIn: number;
  particles: number;
  thin: number;
  workers?: number;
  evidenceDraws: number;
  tolerance: number;
  abcParticles: number;
  targetSd?: number;
  lookahead: number;
  maxParticles?: number;
  covariance?: boolean;
  mle?: boolean;
  output: string;
  json?: boolean;
  progress?: boolean;
}

/** A number ≥ 0 (a tolerance). */
function nonNegative(text: string): number {
  const x = Number(text);
  if (text.trim() === "" || !(x >= 0) || !Number.isFinite(x))
    throw new InvalidArgumentError(`--tolerance must be a number ≥ 0, not '${text}'`);
  return x;
}

/** The posterior summary as a table: one row per calibrated param. */
export function formatPosterior(post: PosteriorFile): string {
  const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));
  const rows = post.summary.map((s) => [
    s.name,
    fmt(s.mean),
    fmt(s.sd),
    fmt(s.q05),
    fmt(s.q50),
    fmt(s.q95),
    s.rhat.toFixed(3),
    String(Math.round(s.ess)),
  ]);
  const until = post.until ? ` up to ${post.until.date ?? post.until.time}` : "";
  const unsettled = post.summary.filter((s) => settledRhat(s.rhat) > RHAT_WARN);
  const used = post.observations.map((o) => `${o.name} (${o.used})`).join(", ");
  if (post.abc) {
    const tolerances = post.abc.tolerances.filter((t): t is number => t !== null);
    return [
      `posterior of ${post.model.name}${until}: ABC-SMC, ${post.particles} particles, ${tolerances.length} generations, final tolerance ${fmt(tolerances[tolerances.length - 1] ?? Number.NaN)} (stopped on ${post.abc.stopped}), ${post.abc.simulations} simulations, seed ${post.seed}${post.partial ? " — PARTIAL" : ""}`,
      `observations: ${used}`,
      table(
        ["param", "mean", "sd", "q05", "q50", "q95", "draws"],
        rows.map((r) => [...r.slice(0, 6), r[7]!]),
      ),
      `last generation's move acceptance ${post.acceptance.toFixed(3)}`,
    ].join("\n");
  }
  return [
    `posterior of ${post.model.name}${until}: PMMH, ${post.chains} chains × ${post.iterations} (after ${post.burn_in} burn-in${(post.thin ?? 1) > 1 ? `, every ${post.thin}th kept` : ""}), ${post.particles} particle${post.particles === 1 ? "" : "s"}${post.chain_particles ? ` (adapted to log-likelihood sd ${post.target_sd}: ${post.chain_particles.join(", ")} by chain)` : ""}, seed ${post.seed}${post.partial ? ` — PARTIAL (${(post.chain_draws ?? []).join(", ")} draws kept by chain)` : ""}`,
    `observations: ${used}`,
    ...(post.factors
      ? [
          `fitted in ${post.factors.length} independent parts (no uncertain param, state or random draw in common): ${post.factors
            .map(
              (f) =>
                `${f.observations.join(", ")} → ${f.params.join(", ")} (acceptance ${f.acceptance.toFixed(2)}${f.chain_particles ? `, particles ${f.chain_particles.join(", ")}` : ""})`,
            )
            .join("; ")}`,
        ]
      : []),
    table(["param", "mean", "sd", "q05", "q50", "q95", "R-hat", "ESS"], rows),
    `acceptance ${post.acceptance.toFixed(3)} (by chain: ${post.chain_acceptance.map((a) => a.toFixed(2)).join(", ")})`,
    ...(unsettled.length
      ? [
          `warning: the chains disagree on ${unsettled.map((s) => s.name).join(", ")} (split R-hat above ${RHAT_WARN}), so the posterior is not settled yet: raise --iterations and --burn-in, or add --covariance`,
        ]
      : []),
    ...(post.mle
      ? [
          `maximum likelihood (Nelder–Mead, ${post.mle.evaluations} evaluations): ${Object.entries(
            post.mle.params,
          )
            .map(([k, v]) => `${k} = ${Number(v.toPrecision(8))}`)
            .join(", ")}; log-likelihood ${fmt(post.mle.log_likelihood)}`,
        ]
      : []),
    ...(post.evidence
      ? [
          `log marginal likelihood ${fmt(post.evidence.log_marginal_likelihood)} ± ${fmt(post.evidence.se)} (importance sampling, ${post.evidence.draws} filter runs, weights' ESS ${Math.round(post.evidence.ess)})`,
        ]
      : []),
  ].join("\n");
}

/**
 * Progress of chains that may run at once: each call records one chain's iteration, acceptance and ESS, and at
 * most once a second returns a line with every chain's (the ESS once it is past burn-in).
 */
export function chainProgress(
  chains: number,
  total: number,
  burnIn: number,
  now: () => number = Date.now,
): (chain: number, iteration: number, acceptance: number, ess: () => number) => string | undefined {
  const status = Array.from({ length: chains }, () => ({
    iteration: -1,
    acceptance: 0,
    ess: (): number => Number.NaN,
  }));
  let last = now();
  return (chain, iteration, acceptance, ess) => {
    status[chain] = { iteration, acceptance, ess };
    if (now() - last < 1000) return undefined;
    last = now();
    const shown = status.map((s, c) => {
      if (s.iteration < 0) return `chain ${c + 1}: waiting`;
      const e = s.iteration >= burnIn ? s.ess() : Number.NaN;
      return `chain ${c + 1}: ${s.iteration + 1}/${total}, acceptance ${s.acceptance.toFixed(2)}${Number.isFinite(e) ? `, ESS ${Math.round(e)}` : ""}`;
    });
    return `${shown.join("; ")}\n`;
  };
}

/**
 * `brink calibrate FILE [--until DATE]`: the posterior of the model's uncertain params given its observations,
 * written atomically to a JSON file. Listed in verbs/index.ts.
 */
export const calibrateVerb: Verb = {
  name: "calibrate",
  register(program, { io, exit: setCode, fail: report }) {
    lookaheadOption(
      samplerOptions(
        program
          .command("calibrate")
          .description(
            "fit the uncertain params to the model's observations (particle-marginal Metropolis–Hastings; ABC-SMC for entries without a measurement model)",
          )
          .argument("<file>", "the model file, with an 'observations' section")
          .option("--until <date>", "use observations up to this date (or model time) only")
          .option("--seed <s>", "seed: the same seed gives the same posterior", seedArg, 1),
        2000,
      ),
    )
      .option(
        "--evidence-draws <n>",
        "filter runs for the log marginal likelihood estimate (0: none)",
        wholeNumber("--evidence-draws", 0, 1e6),
        1000,
      )
      .option(
        "--tolerance <eps>",
        "ABC-SMC: stop when the distance tolerance reaches this (0: when moves stop being accepted)",
        nonNegative,
        0,
      )
      .option("--abc-particles <n>", "ABC-SMC: particles", wholeNumber("--abc-particles", 2, 1e6), 1000)
      .option(
        "--mle",
        "also find the maximum-likelihood params (Nelder–Mead from the posterior's median; not with ABC-SMC)",
      )
      .option("-o, --output <file>", "the posterior file to write", "posterior.json")
      .option("--progress", "show progress even when stderr is not a terminal")
      .option("--json", "print the posterior file's content instead of a table")
      .action(async (file: string, opts: CalibrateFlags) => {
        let interrupted = false;
        const onInterrupt = () => {
          interrupted = true;
        };
        process.once("SIGINT", onInterrupt);
        try {
          const [
            { calibrate, untilStep },
            { posteriorMle },
            { prepareModel },
            { readModel, writeFileAtomic },
            { loadObservations },
            { UsageError },
            { calibratePool },
          ] = await Promise.all([
            import("../../analysis/calibrate/calibrate.js"),
            import("../../analysis/calibrate/mle.js"),
            import("../../engine/prepare.js"),
            import("../files.js"),
            import("../observations.js"),
            import("../../analysis/simulate.js"),
            import("../calibrate-pool.js"),
          ]);
          const model = prepareModel(file, await readModel(file));
          const series = loadObservations(file, model.loaded);
          let step: number | undefined;
          if (opts.until !== undefined) {
            const u = untilStep(model, opts.until);
            if ("error" in u) throw new UsageError(u.error);
            step = u.step;
          }
          const showProgress = opts.progress === true || process.stderr.isTTY === true;
          const progress = chainProgress(opts.chains, opts.burnIn + opts.iterations, opts.burnIn);
          let last = Date.now();
          const post = await calibrate(model, file, series, {
            seed: opts.seed,
            chains: opts.chains,
            iterations: opts.iterations,
            burnIn: opts.burnIn,
            thin: opts.thin,
            particles: opts.particles,
            evidenceDraws: opts.evidenceDraws,
            tolerance: opts.tolerance,
            abcParticles: opts.abcParticles,
            ...(opts.targetSd ? { targetSd: opts.targetSd } : {}),
            ...(opts.lookahead ? { lookahead: opts.lookahead } : {}),
            ...(opts.maxParticles ? { maxParticles: opts.maxParticles } : {}),
            ...(opts.covariance ? { covariance: true } : {}),
            ...(step !== undefined ? { untilStep: step } : {}),
            onGeneration: (g, tolerance, ess, acceptance) => {
              if (!showProgress || Date.now() - last < 1000) return;
              last = Date.now();
              io.err(
                `ABC-SMC generation ${g}: tolerance ${Number(tolerance.toPrecision(4))}, ESS ${ess}, move acceptance ${acceptance.toFixed(2)}\n`,
              );
            },
            ...given("pool", calibratePool(opts.workers)),
            onProgress: (chain, it, acceptance, ess) => {
              if (!showProgress) return;
              const line = progress(chain, it, acceptance, ess);
              if (line) io.err(line);
            },
            // Between batches of iterations the event loop runs, so Ctrl-C is seen; the draws so far are kept.
            shouldStop: () => interrupted,
            pause: () => new Promise((resolve) => setImmediate(resolve)),
          });
          if (opts.mle && !post.partial && post.samples.length > 0) {
            if (post.method !== "pmmh")
              throw new UsageError(
                "--mle needs a likelihood: every observation entry needs a measurement model",
              );
            post.mle = posteriorMle(model, series, post);
          }
          if (post.samples.length === 0) {
            io.err("brink: stopped during burn-in, before any draw was kept; nothing written\n");
            setCode(EXIT_INTERRUPTED);
            return;
          }
          writeFileAtomic(opts.output, `${JSON.stringify(post)}\n`);
          io.out(
            opts.json ? `${JSON.stringify(post)}\n` : `${formatPosterior(post)}\nwrote ${opts.output}\n`,
          );
          if (post.partial) setCode(EXIT_INTERRUPTED);
        } catch (e) {
          setCode(await report(e));
        } finally {
          process.removeListener("SIGINT", onInterrupt);
        }
      });
  },
};

/**
 * The draws of a posterior file as param rows for `brink run --posterior`: run r of the job takes draw
 * r mod (number of draws). The posterior must name params of the model it is used with. With `from` (`brink
 * run --from DATE`), the rows are the draws that have a filtered state, each with its state: run r takes draw
 * (and state) r mod (number of states) and starts at DATE — which must be the posterior's, for the very model
 * it was calibrated on (by hash).
 */
export async function posteriorParamRows(
  path: string,
  modelFile: string,
  modelText: string,
  from?: string,
): Promise<ParamRows> {
  const [{ loadModel }, { readTextFile }, { MAX_SUMMARY_BYTES }] = await Promise.all([
    import("../../model/load.js"),
    import("../files.js"),
    import("../summary-file.js"),
  ]);
  const fail = (message: string) => new DiagnosticError([{ file: path, line: 1, col: 1, message }]);
  // Read with a byte cap (a posterior is draws × params numbers; /dev/zero must not exhaust memory).
  const text = readTextFile(path, MAX_SUMMARY_BYTES, "posterior files");
  let post: Partial<PosteriorFile>;
  try {
    post = JSON.parse(text) as Partial<PosteriorFile>;
  } catch (e) {
    throw fail(`not a posterior file (${(e as Error).message})`);
  }
  const { params, samples } = post;
  if (
    post.brink_posterior !== 1 ||
    !Array.isArray(params) ||
    !Array.isArray(samples) ||
    samples.length === 0 ||
    !samples.every((row) => Array.isArray(row) && row.length === params.length && row.every(Number.isFinite))
  )
    throw fail("not a posterior file written by `brink calibrate` (or it holds no draws)");
  if (!params.every((p) => typeof p === "string"))
    throw fail("not a posterior file written by `brink calibrate` (its params are not names)");
  if (params.length === 0) throw fail("the posterior holds no params");
  // By a set: a hand-made file may name a million params, and indexOf per name would take hours.
  const seen = new Set<string>();
  const twice = params.find((p) => seen.size === seen.add(p).size);
  if (twice !== undefined) throw fail(`the posterior names '${twice}' more than once`);
  const priors = loadModel(modelFile, modelText).spec.params ?? {};
  const missing = params.filter((p) => !Object.hasOwn(priors, p));
  if (missing.length)
    throw fail(
      `the posterior's params ${missing
        .slice(0, 10)
        .map((p) => `'${p}'`)
        .join(
          ", ",
        )}${missing.length > 10 ? ` (and ${missing.length - 10} more)` : ""} are not params of ${modelFile}`,
    );
  const outside = await drawOutsidePrior(params, samples, priors, modelFile);
  if (outside)
    throw new DiagnosticError([
      {
        file: path,
        ...jsonValuePosition(text, ["samples", outside.row, outside.column]),
        message: outside.message,
      },
    ]);
  if (from === undefined) return { params, values: samples.flat() };
  return { params, ...(await restartRows(post, samples, from, modelFile, modelText, fail)) };
}

/**
 * The first draw that gives a param a value its prior cannot (a negative value under a lognormal prior, one past a
 * uniform's bounds, any other value for a fixed param): such a run would be of a model no one wrote — a hand-edited
 * posterior, or a prior changed since calibrating. A param whose prior does not parse is left to the model check.
 */
async function drawOutsidePrior(
  params: string[],
  samples: number[][],
  priors: Record<string, { value?: number | undefined; dist?: string | number | undefined }>,
  modelFile: string,
): Promise<{ row: number; column: number; message: string } | undefined> {
  const { formatSupport, inSupport, priorSupport } = await import("../../model/distribution.js");
  for (let column = 0; column < params.length; column++) {
    const name = params[column]!;
    const prior = priorSupport(priors[name]!);
    if (!prior) continue;
    const { support, text } = prior;
    const row = samples.findIndex((draw) => !inSupport(support, draw[column]!));
    if (row < 0) continue;
    const value = samples[row]![column]!;
    const message =
      support.lo === support.hi
        ? `draw ${row} (samples[${row}]) gives param '${name}' the value ${value}, but '${name}' is fixed at ${support.lo} in ${modelFile}: a posterior can only hold draws of its prior`
        : `draw ${row} (samples[${row}]) gives param '${name}' the value ${value}, outside the support ${formatSupport(support)} of its prior '${text}' in ${modelFile}: a posterior can only hold draws its prior allows (calibrate again if the prior changed)`;
    return { row, column, message };
  }
  return undefined;
}

/** The draws with a filtered state, and their states, for a restart at `from`; checked against the model. */
async function restartRows(
  post: Partial<PosteriorFile>,
  samples: number[][],
  from: string,
  modelFile: string,
  modelText: string,
  fail: (message: string) => DiagnosticError,
): Promise<{ values: number[]; states: { width: number; values: number[] } }> {
  const [{ modelHash }, { isIsoDate }, { prepareModel }, { pausedStateLength }] = await Promise.all([
    import("../../engine/montecarlo.js"),
    import("../../model/time.js"),
    import("../../engine/prepare.js"),
    import("../../compile/codegen.js"),
  ]);
  const state = post.state;
  if (
    !state ||
    typeof post.model?.hash !== "string" ||
    !Number.isInteger(state.width) ||
    !Number.isFinite(state.time) ||
    (state.date !== undefined && typeof state.date !== "string") ||
    !Array.isArray(state.restart) ||
    !Array.isArray(state.draws) ||
    state.restart.length !== state.draws.length
  )
    throw fail(
      "this posterior holds no restart state (it was written by an older `brink calibrate`): calibrate again to restart from it",
    );
  if (post.model.hash !== modelHash(modelText))
    throw fail(
      `${modelFile} has changed since this posterior was calibrated (model hash ${modelHash(modelText)}, the posterior's ${post.model.hash}): calibrate again to restart from it`,
    );
  const at = state.date ?? String(Number(state.time.toPrecision(10)));
  const same = isIsoDate(from)
    ? from === state.date
    : /^[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(from) &&
      state.date === undefined &&
      Math.abs(Number(from) - state.time) <= 1e-9 * Math.max(1, Math.abs(state.time));
  if (!same)
    throw fail(
      `--from ${from} is not this posterior's date: its filtered state is at ${at} (calibrate with --until ${from} to restart there)`,
    );
  if (state.draws.length === 0)
    throw fail(
      `every posterior draw's run had ended in an outcome by ${at}: there is no state to restart from`,
    );
  const width = state.width;
  // The model is the one calibrated (by hash), so only a hand-edited state has another length.
  const modelWidth = pausedStateLength(prepareModel(modelFile, modelText).program) - 1;
  if (width !== modelWidth)
    throw fail(
      `the posterior's restart state holds ${width} numbers per draw, but a state of ${modelFile} is ${modelWidth}: calibrate again`,
    );
  if (
    !state.draws.every((d) => Number.isInteger(d) && d >= 0 && d < samples.length) ||
    !state.restart.every(
      (row) => Array.isArray(row) && row.length === width && row.every((x) => typeof x === "number"),
    )
  )
    throw fail("the posterior's restart state is malformed: calibrate again");
  return {
    values: state.draws.flatMap((d) => samples[d]!),
    states: { width, values: state.restart.flat() },
  };
}
