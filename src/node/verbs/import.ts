import { formatDiagnostic } from "../../lang/diagnostic.js";
import { terminalSafe } from "../terminal.js";
import { dataOption, EXIT_BAD_MODEL, given, type Verb } from "./shared.js";

export const importVerb: Verb = {
  name: "import",
  register(program, { io, exit, fail }) {
    program
      .command("import")
      .description("convert an XMILE (.xmile, .stmx) or Vensim (.mdl) model to a Brink model file")
      .argument("<file>", "the XMILE or Vensim file")
      .requiredOption("-o, --output <file>", "the Brink YAML file to write")
      .addOption(dataOption())
      .action(async (file: string, opts: { output: string; data?: string[] }) => {
        try {
          const [{ checkModelText }, { importXmile }, { importModelText, readModelFile, writeFileAtomic }] =
            await Promise.all([
              import("../../analysis/check.js"),
              import("../../io/xmile.js"),
              import("../files.js"),
            ]);
          const yaml =
            /\.mdl$/i.test(file) || opts.data
              ? await importModelText(file, readModelFile(file), given("data", opts.data))
              : importXmile(file, readModelFile(file)).yaml;
          // Check what was produced before writing it, so a bad import never leaves a file behind.
          const problems = checkModelText(opts.output, yaml).diagnostics;
          for (const d of problems) io.err(`${terminalSafe(formatDiagnostic(d))}\n`);
          if (problems.length) {
            exit(EXIT_BAD_MODEL);
            return;
          }
          writeFileAtomic(opts.output, yaml);
          io.err(terminalSafe(`wrote ${opts.output}\n`));
        } catch (e) {
          exit(await fail(e));
        }
      });
  },
};
