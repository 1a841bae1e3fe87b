import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partialChainKey, QUEUE, redisConnection } from "../src/node/distributed.js";
import { BIN, brink, scratchDir } from "./cli-helpers.js";
import { example, ROOT } from "./helpers.js";
import { expectOtherVersionRefused, startRedis, until, workerProcesses } from "./redis-helpers.js";

// `brink backtest --redis`: each origin's calibration chains and its filter and forecast batches as BullMQ jobs
// on a real redis-server (on a free loopback port, databases 7 and 8), served by real `brink worker` processes,
// compared byte for byte with the same backtest run locally.

const FLU = example("boarding-school-flu.yaml");
const ORIGINS = ["--origins", "1978-01-25,1978-01-29", "--horizon", "4 days"];
const dir = scratchDir("distributed-backtest");

let redis: ChildProcess;
let port: number;
const workers = workerProcesses(1000);
const startWorker = workers.start;

/** Every file under a folder, as relative path → bytes. */
function files(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(path.slice(root.length), readFileSync(path));
    }
  return out;
}

beforeAll(async () => {
  ({ server: redis, port } = await startRedis(dir));
}, 60_000);

afterAll(() => {
  workers.killAll();
  redis?.kill("SIGKILL");
});

describe("brink backtest --redis", () => {
  it("gives the local backtest's bytes and per-run files with two workers, one SIGKILLed mid-chain", async () => {
    const url = `redis://127.0.0.1:${port}/7`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      // Chains long enough (about a second each) to kill a worker while it runs one.
      const job = [FLU, ...ORIGINS, "--chains", "2", "--iterations", "1500", "--burn-in", "100"];
      const rest = ["--particles", "60", "--runs", "300", "--seed", "4", "--json"];
      const localOut = join(dir, "local-runs");
      const local = await brink("backtest", ...job, ...rest, "--runs-out", localOut);
      expect(local.stderr).toBe("");
      expect(local.status).toBe(0);
      const started = await Promise.all([startWorker(url), startWorker(url)]);

      const remoteOut = join(dir, "remote-runs");
      const submitted = brink("backtest", ...job, ...rest, "--redis", url, "--runs-out", remoteOut);
      let victim: string | undefined;
      await until(
        "a chain running on a worker",
        async () => {
          const active = await queue.getJobs(["active"]);
          victim = active.find((j) => j.processedBy)?.processedBy;
          return victim !== undefined;
        },
        60_000,
      );
      const killed = started.find((w) => w.pid === Number(victim!.split(":").at(-1)))!;
      expect(killed).toBeDefined();
      killed.kill("SIGKILL");

      const ran = await submitted;
      expect(ran.stderr).toBe("");
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe(local.stdout);
      // The per-run files are the local ones, byte for byte: one per origin.
      const [localFiles, remoteFiles] = [files(localOut), files(remoteOut)];
      expect([...remoteFiles.keys()].sort()).toEqual([...localFiles.keys()].sort());
      expect(remoteFiles.size).toBe(2);
      for (const [name, bytes] of localFiles) expect(remoteFiles.get(name)?.equals(bytes)).toBe(true);

      // The dead worker's chain was taken back (stalled) and run again by the other.
      const completed = await queue.getJobs(["completed"]);
      expect(completed.every((j) => j.name === "calibrate")).toBe(true);
      expect(completed.some((j) => j.stalledCounter >= 1 || j.attemptsMade > 1)).toBe(true);

      // Submitted again, every task is a finished job: the same bytes and no new jobs.
      const count = completed.length;
      const again = await brink("backtest", ...job, ...rest, "--redis", url);
      expect(again.stdout).toBe(local.stdout);
      expect((await queue.getJobCounts("completed")).completed).toBe(count);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("on Ctrl-C a chain running on a worker keeps what it drew, as a local stop does", async () => {
    const url = `redis://127.0.0.1:${port}/9`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      await startWorker(url);
      const child = spawn(
        process.execPath,
        [
          BIN,
          "backtest",
          FLU,
          ...ORIGINS,
          ...["--chains", "1", "--burn-in", "20", "--iterations", "1000000", "--particles", "30"],
          ...["--runs", "200", "--json", "--redis", url],
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      // The worker reports [iterations done, acceptance, ESS] as the job's progress: stop well past burn-in.
      let jobId: string | undefined;
      await until(
        "the chain to run 150 iterations on the worker",
        async () => {
          const [job] = await queue.getActive();
          jobId = job?.id;
          const progress = job?.progress;
          return Array.isArray(progress) && Number(progress[0]) >= 150;
        },
        60_000,
      );
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      const cut = JSON.parse(stdout) as {
        partial: boolean;
        origins: { label: string; posterior: { partial: boolean; summary: { ess: number }[] } }[];
        periods: unknown[];
      };
      expect(cut.partial).toBe(true);
      // Before, a stopped remote chain kept nothing and the origin was dropped (origins: []).
      expect(cut.origins.map((o) => o.label)).toEqual(["1978-01-25"]);
      expect(cut.origins[0]!.posterior.partial).toBe(true);
      expect(cut.origins[0]!.posterior.summary[0]!.ess).toBeGreaterThan(1);
      // As locally: a stop during an origin's calibration keeps its posterior and forecasts nothing more.
      expect(cut.periods).toEqual([]);
      // The job fails as cancelled (never stored as a whole chain) and the draws' key is gone once read.
      const job = await queue.getJob(jobId!);
      expect(await job!.getState()).toBe("failed");
      expect(job!.failedReason).toMatch(/cancelled/);
      const client = new Redis(redisConnection(url) as RedisOptions);
      try {
        expect(await client.exists(partialChainKey(jobId!))).toBe(0);
      } finally {
        client.disconnect();
      }
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("on Ctrl-C withdraws the waiting chains and prints the partial backtest, exit 130; other versions refuse", async () => {
    const url = `redis://127.0.0.1:${port}/8`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      // No worker serves this database: the chains wait.
      const child = spawn(
        process.execPath,
        [BIN, "backtest", FLU, ...ORIGINS, "--chains", "3", "--json", "--redis", url],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      await until("the chains to be queued", async () => (await queue.getWaitingCount()) === 3, 60_000);
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(JSON.parse(stdout)).toMatchObject({ partial: true, origins: [] });
      expect(await queue.getWaitingCount()).toBe(0);

      // Forecast batches withdrawn by Ctrl-C are finished here: the origin in progress is the local one.
      const priors = [FLU, ...ORIGINS, "--priors-only", "--runs", "400", "--json"];
      const local = JSON.parse((await brink("backtest", ...priors)).stdout) as Record<string, unknown[]>;
      const stopped = spawn(process.execPath, [BIN, "backtest", ...priors, "--redis", url], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let partial = "";
      stopped.stdout!.setEncoding("utf8").on("data", (d: string) => (partial += d));
      const ended = new Promise<number | null>((resolve) => stopped.on("close", resolve));
      await until("the forecasts to be queued", async () => (await queue.getWaitingCount()) > 0, 60_000);
      stopped.kill("SIGINT");
      expect(await ended).toBe(130);
      const cut = JSON.parse(partial) as Record<string, unknown[]> & { partial: boolean };
      expect(cut.partial).toBe(true);
      expect(cut.origins![0]).toEqual(local.origins![0]);
      const firstOrigin = (p: unknown) => (p as { origin: string }).origin === "1978-01-25";
      expect(cut.periods!.filter(firstOrigin)).toEqual(local.periods!.filter(firstOrigin));
      expect(cut.periods!.filter(firstOrigin).length).toBe(4);
      expect(await queue.getWaitingCount()).toBe(0);

      // A worker of another engine version refuses a calibration task, without retries.
      await startWorker(url);
      await expectOtherVersionRefused(queue, "calibrate", { calibrate: {} });
    } finally {
      await queue.close();
    }
  }, 60_000);
});
