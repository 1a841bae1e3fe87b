import { table } from "../format.js";
import { EXIT_USAGE, jsonOption, printResult, type Verb } from "./shared.js";

export const conformance: Verb = {
  name: "conformance",
  register(program, { io, exit }) {
    program
      .command("conformance")
      .description(
        "run the XMILE conformance suite (SDXorg test-models) and print passed / failed / unsupported / invalid",
      )
      .argument("<dir>", "the suite's folder (with tests/ and samples/)")
      .addOption(jsonOption("print one JSON object instead of a table"))
      .option("--vensim", "read each folder's Vensim .mdl model instead of its XMILE one")
      .option("--absolute <x>", "absolute tolerance added to the relative one (PySD uses 1e-5)", "1e-8")
      // RELATIVE_TOLERANCE of ../conformance.js (1e-5), written out so the suite's modules load only when it runs.
      .option("--relative <x>", "relative tolerance", "0.00001")
      .action(
        async (
          dir: string,
          opts: { json?: boolean; vensim?: boolean; absolute: string; relative: string },
        ) => {
          const absolute = Number(opts.absolute);
          const relative = Number(opts.relative);
          for (const [name, given, x] of [
            ["absolute", opts.absolute, absolute],
            ["relative", opts.relative, relative],
          ] as const)
            if (!(x >= 0)) {
              io.err(`brink conformance: --${name} must be a non-negative number, not '${given}'\n`);
              exit(EXIT_USAGE);
              return;
            }
          const [{ compareSuiteImports }, { ABSOLUTE_FLOOR, runConformance, suiteFolders }] =
            await Promise.all([import("../../io/vensim-compare.js"), import("../conformance.js")]);
          const rows = runConformance(dir, opts.vensim ? "mdl" : "xmile", absolute, relative);
          printResult(io, opts.json, rows, (rows) => {
            const count = (s: string) => rows.filter((r) => r.status === s).length;
            // Where a folder ships the same model as .mdl and .xmile, the two imports should agree.
            const pairs = opts.vensim ? compareSuiteImports(suiteFolders(dir)) : [];
            const compared = pairs.length
              ? `\n\n.mdl against .xmile:\n${table(
                  ["folder", "imports", "detail"],
                  pairs.map((r) => [r.folder, r.status, r.detail]),
                )}`
              : "";
            return `${table(
              ["folder", "status", "detail"],
              rows.map((r) => [r.folder, r.status, r.detail]),
            )}\n\n${count("passed")} passed, ${count("failed")} failed, ${count("unsupported")} unsupported, ${count("invalid")} invalid model files (relative tolerance ${relative}${absolute === ABSOLUTE_FLOOR ? "" : `, absolute ${absolute}`})${compared}`;
          });
        },
      );
  },
};
