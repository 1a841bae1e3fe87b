import { writeFileAtomic } from "../files.js";
import { formatReport } from "../format.js";
import { mergeSummaryFiles, summaryFileText } from "../summary-file.js";
import { jsonOption, printResult, type Verb } from "./shared.js";

export const merge: Verb = {
  name: "merge",
  register(program, { io, exit, fail }) {
    program
      .command("merge")
      .description(
        "merge summaries saved by `brink run --save-summary` (disjoint runs of one job) and report them",
      )
      .argument("<files...>", "summary files")
      .option("--save-summary <file>", "write the merged summary to this file")
      .addOption(jsonOption())
      .action((files: string[], opts: { saveSummary?: string; json?: boolean }) => {
        try {
          const { summary, model, report } = mergeSummaryFiles(files);
          if (opts.saveSummary)
            writeFileAtomic(opts.saveSummary, summaryFileText({ summary: summary.toJSON(), model }));
          printResult(io, opts.json, report, formatReport);
        } catch (e) {
          exit(fail(e));
        }
      });
  },
};
