import { terminalSafe } from "../terminal.js";
import { given, scenarioOption, type Verb } from "./shared.js";

export const exportVerb: Verb = {
  name: "export",
  register(program, { io, exit, fail }) {
    program
      .command("export")
      .description("write a Brink model as XMILE (what XMILE cannot say is kept in brink: elements)")
      .argument("<file>", "the Brink model file")
      .requiredOption("-o, --output <file>", "the XMILE file to write")
      .addOption(scenarioOption("export a scenario of the model"))
      .action(async (file: string, opts: { output: string; scenario?: string }) => {
        try {
          const [{ exportXmile }, { loadModel }, { readModel, writeFileAtomic }] = await Promise.all([
            import("../../io/xmile-export.js"),
            import("../../model/load.js"),
            import("../files.js"),
          ]);
          const loaded = loadModel(file, await readModel(file), given("scenario", opts.scenario));
          writeFileAtomic(opts.output, exportXmile(loaded));
          io.err(terminalSafe(`wrote ${opts.output}\n`));
        } catch (e) {
          exit(await fail(e));
        }
      });
  },
};
