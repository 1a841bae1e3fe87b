// Load-time scaling: checking a model must cost time linear in its size. Each case checks a model of size n and
// of size 4n and prints the ratio of their times; a ratio far above 4 means a quadratic step crept back in (10,000
// shorthand vars once took 38 s, a 700,000-point table 54 s and 2.7 GB). Run with `npm run bench`.
import { checkModelText } from "../dist/index.js";

const HEAD = "brink: 1\nname: load\ntime: { start: 0, stop: 10, dt: 1 }\nparams: { x: 1 }\n";
const cases = {
  "shorthand vars": (n) =>
    `${HEAD}vars:\n${Array.from({ length: n }, (_, i) => `  v${i}: ${i} + x\n`).join("")}`,
  "table points": (n) =>
    `${HEAD}tables:\n  t: [${Array.from({ length: n }, (_, i) => `[${i}, ${i % 7}]`).join(", ")}]\nvars:\n  y: t(x)\n`,
  // Every reference unknown, each searched for a "did you mean" among all the names.
  "misspelt references": (n) =>
    `${HEAD}vars:\n${Array.from({ length: n }, (_, i) => `  v${i}: w${i}\n`).join("")}`,
  "scenario overrides": (n) =>
    `${HEAD}vars:\n${Array.from({ length: n }, (_, i) => `  v${i}: ${i}\n`).join("")}scenarios:\n  s:\n    vars:\n${Array.from({ length: n }, (_, i) => `      v${i}: ${i + 1}\n`).join("")}`,
};
const SIZES = {
  "shorthand vars": 5000,
  "table points": 8000,
  "scenario overrides": 1500,
  "misspelt references": 1500,
};

/** Best of three, in milliseconds. */
function time(text) {
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const report = checkModelText("load.yaml", text);
    best = Math.min(best, performance.now() - t0);
    if (report.diagnostics.length && !text.includes(": w0\n")) throw new Error(report.diagnostics[0].message);
  }
  return best;
}

let failed = false;
for (const [name, make] of Object.entries(cases)) {
  const n = SIZES[name];
  time(make(n)); // warm-up: the first check also compiles the checker itself
  const small = time(make(n));
  const large = time(make(4 * n));
  const ratio = large / small;
  // Linear is 4 and quadratic 16: allow for garbage collection and a noisy machine, not for n².
  const ok = ratio < 12;
  failed ||= !ok;
  console.log(
    `${name.padEnd(20)} n=${String(n).padStart(6)}: ${small.toFixed(0).padStart(6)} ms  4n: ${large.toFixed(0).padStart(6)} ms  ratio ${ratio.toFixed(1)} ${ok ? "" : "(superlinear!)"}`,
  );
}
if (failed) process.exit(1);
