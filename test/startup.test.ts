import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type ChunkPool, runSimulation } from "../src/analysis/simulate.js";
import { runTask } from "../src/engine/chunk-task.js";
import { closeWorkers, IN_PROCESS_RUN_STEPS, simulate } from "../src/node/simulate.js";
import { grouped } from "../src/report/format.js";
import { brink, run, scratchDir } from "./cli-helpers.js";
import { example } from "./helpers.js";

afterAll(() => closeWorkers());

const SIR = example("sir.yaml");
const sir = { file: SIR, text: readFileSync(SIR, "utf8") };

describe("small jobs run on the calling thread", () => {
  /** A host whose pool runs chunk tasks here, counting them, so the test sees whether the pool was asked. */
  const countingHost = (inProcessRunSteps: number | undefined) => {
    const asked = { pools: 0, chunks: 0 };
    const pool: ChunkPool = {
      sharedMemory: false,
      run: async (task) => {
        asked.chunks++;
        return runTask(task);
      },
    };
    return {
      asked,
      host: {
        cores: 2,
        yieldToEvents: () => new Promise<void>((r) => setImmediate(r)),
        pool: () => {
          asked.pools++;
          return pool;
        },
        ...(inProcessRunSteps === undefined ? {} : { inProcessRunSteps }),
      },
    };
  };

  it("below the host's run·steps, with no worker count asked for, the pool is not used; the report is the pooled one", async () => {
    const options = { runs: 300, seed: 3, scenario: "uncertain" };
    const small = countingHost(300 * 720);
    const here = await runSimulation(sir, options, small.host);
    expect(small.asked.pools).toBe(0);
    const pooled = countingHost(300 * 720 - 1);
    const there = await runSimulation(sir, options, pooled.host);
    expect(pooled.asked.chunks).toBeGreaterThan(1);
    expect(JSON.stringify(here.report)).toBe(JSON.stringify(there.report));
    expect(JSON.stringify(here.summary.toJSON())).toBe(JSON.stringify(there.summary.toJSON()));
  });

  it("a worker count asked for is kept, and a host without the setting (the browser) always uses its pool", async () => {
    const asked = countingHost(1e9);
    await runSimulation(sir, { runs: 50, workers: 2 }, asked.host);
    expect(asked.asked.pools).toBe(1);
    const browser = countingHost(undefined);
    await runSimulation(sir, { runs: 50 }, browser.host);
    expect(browser.asked.pools).toBe(1);
  });

  it("Node's simulate gives byte-identical reports and summaries on this thread and on worker threads", async () => {
    expect(200 * 720).toBeLessThanOrEqual(IN_PROCESS_RUN_STEPS);
    const here = await simulate(sir, { runs: 200, seed: 11, scenario: "uncertain" });
    const threads = await simulate(sir, {
      runs: 200,
      seed: 11,
      scenario: "uncertain",
      workers: 2,
      threads: true,
    });
    expect(JSON.stringify(here.report)).toBe(JSON.stringify(threads.report));
    expect(JSON.stringify(here.summary.toJSON())).toBe(JSON.stringify(threads.summary.toJSON()));
  });
});

describe("the CLI loads heavy libraries only in the verbs that need them", () => {
  // A module hook that lists every package the process loads, on stderr.
  const dir = scratchDir("startup");
  const hook = join(dir, "hook.mjs");
  writeFileSync(
    hook,
    `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
export async function resolve(s, c, next) {
  const r = await next(s, c);
  const m = /node_modules\\\\/((?:@[^/]+\\\\/)?[^/]+)/.exec(r.url);
  if (m) process.stderr.write("PACKAGE " + m[1] + "\\\\n");
  return r;
}\`));
`,
  );
  const packagesOf = async (...args: string[]) => {
    const r = await run(process.execPath, ["--import", hook, join("bin", "brink.js"), ...args]);
    expect(r.status, r.stderr).toBe(0);
    return new Set([...r.stderr.matchAll(/^PACKAGE (\S+)$/gm)].map((m) => m[1]));
  };
  const HEAVY = ["vega", "vega-lite", "zod", "bullmq", "ioredis", "hyparquet", "hyparquet-writer", "piscina"];

  // The bundled CLI (dist/cli) has commander, yaml and zod inside; the tsc build loads them from node_modules.
  it("--version and --help load commander at most", async () => {
    for (const args of [["--version"], ["--help"]])
      expect(
        [...(await packagesOf(...args))].filter((p) => p !== "commander"),
        args[0],
      ).toEqual([]);
  });

  it("a one-run `brink run` of a YAML model loads no chart, queue, Parquet, XML or worker-pool library", async () => {
    const loaded = await packagesOf("run", join("models", "examples", "teacup.yaml"), "--runs", "1");
    for (const name of [...HEAVY.filter((h) => h !== "zod"), "saxes", "cli-progress"])
      expect(loaded.has(name), name).toBe(false);
  });

  it("errors are reported as before when the verb's modules load late", async () => {
    const r = await brink("check", "no-such-file.yaml");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^no-such-file\.yaml:1:1: error: /);
    const usage = await brink("run", join("models", "examples", "teacup.yaml"), "--scenario", "nope");
    expect(usage.status).toBe(1);
    expect(usage.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe("thousands separators without the locale data", () => {
  it("grouped(n) is toLocaleString('en') for every whole number", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double()), (x) => {
        const n = Number.isFinite(x) ? Math.round(x) : x;
        expect(grouped(n)).toBe(n.toLocaleString("en"));
      }),
    );
  });
});
