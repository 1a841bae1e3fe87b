import { Command, CommanderError } from "commander";
import { didYouMean } from "../lang/diagnostic.js";
import { VERSION } from "./package-info.js";
import { terminalSafe } from "./terminal.js";
import { VERBS } from "./verbs/index.js";
import { EXIT_OK, EXIT_USAGE, type Io, makeContext } from "./verbs/shared.js";

export { EXIT_BAD_MODEL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./verbs/shared.js";

/** The verb `argv` names but Brink does not have (`brink calibrat --help`), if any. */
function unknownVerb(argv: string[], known: string[]): string | undefined {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) return undefined;
  if (first === "help")
    return second !== undefined && !second.startsWith("-") && !known.includes(second) ? second : undefined;
  return known.includes(first) ? undefined : first;
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
  const context = makeContext(io, (c) => {
    code = c;
  });
  for (const verb of VERBS) verb.register(program, context);
  // Only verbs that may start worker threads load the pool (piscina), to stop it when they are done.
  let startedWorkers = false;
  program.hook("preAction", (_program, action) => {
    startedWorkers ||= VERBS.some((v) => v.workers === true && v.name === action.name());
  });

  try {
    if (argv.length === 0) {
      io.err(program.helpInformation());
      return EXIT_USAGE;
    }
    // Checked before commander parses: it would answer `brink calibrat --help` with the general help and exit 0,
    // so a script could not tell a typo from success.
    const names = VERBS.map((v) => v.name);
    const unknown = unknownVerb(argv, names);
    if (unknown !== undefined) {
      io.err(terminalSafe(`brink: unknown command '${unknown}'${didYouMean(unknown, names)}\n`));
      io.err("(run with --help for usage)\n");
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
    if (startedWorkers) await (await import("./simulate.js")).closeWorkers();
  }
}
