import { exportXmile } from "../../io/xmile-export.js";
import { loadModel } from "../../model/load.js";
import { readModel, writeFileAtomic } from "../files.js";
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
      .action((file: string, opts: { output: string; scenario?: string }) => {
        try {
          const loaded = loadModel(file, readModel(file), given("scenario", opts.scenario));
          writeFileAtomic(opts.output, exportXmile(loaded));
          io.err(terminalSafe(`wrote ${opts.output}\n`));
        } catch (e) {
          exit(fail(e));
        }
      });
  },
};
