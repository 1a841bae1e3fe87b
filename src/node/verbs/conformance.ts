import { RELATIVE_TOLERANCE, runConformance } from "../conformance.js";
import { table } from "../format.js";
import { jsonOption, printResult, type Verb } from "./shared.js";

export const conformance: Verb = {
  name: "conformance",
  register(program, { io }) {
    program
      .command("conformance")
      .description(
        "run the XMILE conformance suite (SDXorg test-models) and print passed / failed / unsupported / invalid",
      )
      .argument("<dir>", "the suite's folder (with tests/ and samples/)")
      .addOption(jsonOption("print one JSON object instead of a table"))
      .action((dir: string, opts: { json?: boolean }) => {
        printResult(io, opts.json, runConformance(dir), (rows) => {
          const count = (s: string) => rows.filter((r) => r.status === s).length;
          return `${table(
            ["folder", "status", "detail"],
            rows.map((r) => [r.folder, r.status, r.detail]),
          )}\n\n${count("passed")} passed, ${count("failed")} failed, ${count("unsupported")} unsupported, ${count("invalid")} invalid model files (relative tolerance ${RELATIVE_TOLERANCE})`;
        });
      });
  },
};
