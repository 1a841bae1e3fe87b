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
      .action(async (files: string[], opts: { saveSummary?: string; json?: boolean }) => {
        try {
          const [{ writeFileAtomic }, { formatReport }, { mergeSummaryFiles, summaryFileText }] =
            await Promise.all([import("../files.js"), import("../format.js"), import("../summary-file.js")]);
          const { summary, model, report } = mergeSummaryFiles(files);
          if (opts.saveSummary)
            writeFileAtomic(opts.saveSummary, summaryFileText({ summary: summary.toJSON(), model }));
          printResult(io, opts.json, report, formatReport);
        } catch (e) {
          exit(await fail(e));
        }
      });
  },
};
