// Start-up of the `brink` command against Node itself: `brink --version` and a one-run `brink run` as whole
// processes, timed against `node -e 0` in alternating rounds (so load on the machine hits each alike), the
// median of each. Ratios, so they hold on any machine. Part of `npm run bench` (after `npm run build`).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BRINK = join(ROOT, "bin", "brink.js");
const ROUNDS = Number(process.env.BRINK_BENCH_ROUNDS ?? 21);

const commands = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "brink --version", args: [BRINK, "--version"], floor: 3 },
  {
    name: "brink run models/examples/teacup.yaml --runs 1",
    args: [BRINK, "run", join(ROOT, "models", "examples", "teacup.yaml"), "--runs", "1"],
    floor: 4,
  },
];

function timeOnce(args) {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const times = commands.map(() => []);
for (const c of commands) timeOnce(c.args); // warm the file cache
for (let round = 0; round < ROUNDS; round++)
  commands.forEach((c, i) => {
    times[i].push(timeOnce(c.args));
  });

const base = median(times[0]);
console.log(
  `\nStart-up, whole process (median of ${ROUNDS} alternating rounds; floors as a ratio to node -e 0)\n`,
);
console.log("command                                           median ms  ratio  floor");
const missed = [];
commands.forEach((c, i) => {
  const ms = median(times[i]);
  const ratio = ms / base;
  console.log(
    `${c.name.padEnd(48)} ${ms.toFixed(0).padStart(10)} ${ratio.toFixed(2).padStart(5)}×  ${c.floor ? `≤ ${c.floor}×` : ""}`,
  );
  if (c.floor && !(ratio <= c.floor)) missed.push(`${c.name}: ${ratio.toFixed(2)}× (floor ${c.floor}×)`);
});
if (missed.length) {
  console.error(`bench: FAILED start-up floors: ${missed.join("; ")}`);
  process.exitCode = 1;
}
