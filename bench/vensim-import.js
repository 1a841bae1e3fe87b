// Import time of the largest Vensim model of the conformance suite that imports (parse, translate, unit checks).
// Run with `node bench/vensim-import.js` after `npx tsc -p tsconfig.build.json`; needs ../shared/test-models.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { importVensim } from "../dist/io/vensim.js";

const SUITE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "test-models");
const models = ["tests", "samples"].flatMap((root) =>
  readdirSync(join(SUITE, root)).flatMap((d) =>
    readdirSync(join(SUITE, root, d))
      .filter((f) => f.endsWith(".mdl"))
      .map((f) => join(SUITE, root, d, f)),
  ),
);
const imports = (file) => {
  try {
    importVensim(file, readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
};
const largest = models.sort((a, b) => statSync(b).size - statSync(a).size).find(imports);
const text = readFileSync(largest, "utf8");
const bench = new Bench({ iterations: 15, warmupIterations: 3 });
bench.add("import", () => importVensim(largest, text));
await bench.run();
const r = bench.tasks[0].result;
console.log(
  `${largest.slice(SUITE.length + 1)} (${text.length} characters): median ${r.latency.p50.toFixed(1)} ms, mean ${r.latency.mean.toFixed(1)} ms over ${r.latency.samplesCount ?? 15} imports`,
);
