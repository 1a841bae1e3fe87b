// `npm run bench`: every benchmark in turn, each in its own process. Each prints its table and exits 1 when it
// misses a floor; this runs them all regardless and exits 1 if any did, naming which.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const failed = [];
for (const bench of [
  "run.js",
  "montecarlo.js",
  "web.js",
  "load.js",
  "startup.js",
  "peers.js",
  "peers-pysd.js",
]) {
  const r = spawnSync(process.execPath, [join(HERE, bench)], { stdio: "inherit" });
  if (r.status !== 0) failed.push(`${bench} (${r.status ?? r.signal})`);
}
if (failed.length) {
  console.error(`\nbench: ${failed.join(", ")} failed`);
  process.exit(1);
}
