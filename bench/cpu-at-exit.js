// Preloaded (`node --import ./bench/cpu-at-exit.js …`) into a process that bench/montecarlo.js times as a
// whole: at exit it reports the CPU time of every thread of the process and its peak memory, on stderr, so
// that the comparison holds on a machine shared with other work (wall-clock time would not).
import { writeSync } from "node:fs";

process.on("exit", () => {
  const u = process.resourceUsage();
  writeSync(
    2,
    `\nBENCH_USAGE ${JSON.stringify({ cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMB: u.maxRSS / 1024 })}\n`,
  );
});
