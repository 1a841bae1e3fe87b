import { formatDiagnostic } from "../../lang/diagnostic.js";
import { terminalSafe } from "../terminal.js";
import { dataOption, EXIT_BAD_MODEL, given, type Verb } from "./shared.js";

export const check: Verb = {
  name: "check",
  register(program, { io, exit, fail }) {
    program
      .command("check")
      .description("check a model file — its base model, every scenario and every claim")
      .argument("<file>", "the model file (YAML, XMILE or Vensim .mdl)")
      .addOption(dataOption())
      .action(async (file: string, opts: { data?: string[] }) => {
        try {
          const [{ checkModelText }, { readModel }] = await Promise.all([
            import("../../analysis/check.js"),
            import("../files.js"),
          ]);
          const result = checkModelText(file, await readModel(file, given("data", opts.data)));
          for (const d of result.diagnostics) io.err(`${terminalSafe(formatDiagnostic(d))}\n`);
          if (result.diagnostics.length) {
            exit(EXIT_BAD_MODEL);
            return;
          }
          io.out(terminalSafe(`${file}: ok (${result.variants.join(", ")})\n`));
        } catch (e) {
          exit(await fail(e));
        }
      });
  },
};
