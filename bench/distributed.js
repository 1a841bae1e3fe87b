// Distributed jobs on this machine: runs/s of `brink run --redis` with 1, 2 and 4 `brink worker` processes
// against a local run, and the per-chunk overhead of the queue (tiny chunks of a tiny model). Needs
// redis-server on PATH; starts its own on a free loopback port. Run with `npm run build && node bench/distributed.js`.
// Numbers depend on the cores free at the time: on a shared 2-core machine, 4 workers cannot beat 2.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "bin", "brink.js");
const MODEL = join(import.meta.dirname, "..", "models", "examples", "war-of-attrition.yaml");
const TINY = join(import.meta.dirname, "..", "models", "examples", "teacup.yaml");
const RUNS = Number(process.env.BENCH_RUNS ?? 40_000);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "brink-bench-redis-"));
const redis = spawn(
  "redis-server",
  ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir],
  {
    stdio: "ignore",
  },
);
await new Promise((r) => setTimeout(r, 500));

function timed(args) {
  const start = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { seconds: (performance.now() - start) / 1000, stdout: r.stdout };
}

async function withWorkers(n, db, fn) {
  const url = `redis://127.0.0.1:${port}/${db}`;
  const workers = Array.from({ length: n }, () =>
    spawn(process.execPath, [BIN, "worker", "--redis", url], { stdio: ["ignore", "ignore", "pipe"] }),
  );
  await Promise.all(
    workers.map(
      (w) => new Promise((resolve) => w.stderr.on("data", (d) => String(d).includes("serving") && resolve())),
    ),
  );
  try {
    return fn(url);
  } finally {
    for (const w of workers) w.kill("SIGTERM");
  }
}

const job = [MODEL, "--runs", String(RUNS), "--chunk-size", "2500", "--json"];
const local = timed(["run", ...job, "--workers", "1"]);
console.log(
  `local, 1 thread: ${(RUNS / local.seconds).toFixed(0)} runs/s (${local.seconds.toFixed(1)} s, CLI start included)`,
);
let db = 1;
for (const n of [1, 2, 4]) {
  const r = await withWorkers(n, db++, (url) => timed(["run", ...job, "--redis", url]));
  const same = r.stdout === local.stdout ? "identical output" : "OUTPUT DIFFERS";
  console.log(
    `redis, ${n} worker process(es): ${(RUNS / r.seconds).toFixed(0)} runs/s (${r.seconds.toFixed(1)} s, ${same})`,
  );
}
const CHUNKS = 200;
// One run per chunk: the same job locally and through the queue, so the difference is the queue's cost.
const tinyArgs = ["run", TINY, "--runs", String(CHUNKS), "--chunk-size", "1", "--workers", "1", "--json"];
const tinyLocal = timed(tinyArgs);
const tinyRedis = await withWorkers(1, db++, (url) => timed([...tinyArgs, "--redis", url]));
console.log(
  `per-chunk overhead (${CHUNKS} one-run chunks, 1 worker, 2 in flight): ${(((tinyRedis.seconds - tinyLocal.seconds) / CHUNKS) * 1000).toFixed(1)} ms`,
);
redis.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
