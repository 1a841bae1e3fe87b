import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobWaitersKey, QUEUE, redisConnection } from "../src/node/distributed.js";
import { BIN, brink, scratchDir } from "./cli-helpers.js";
import { ROOT } from "./helpers.js";
import { expectOtherVersionRefused, freePort, startRedis, until, workerProcesses } from "./redis-helpers.js";

// Distributed jobs: a real redis-server (Debian's, installed by .ci/run) on a free loopback port, real
// `brink worker` processes, and `brink run --redis` compared byte for byte with the same job run locally.

const FLAGSHIP = join(ROOT, "models", "flagship", "flagship.yaml");
const dir = scratchDir("distributed");

let redis: ChildProcess;
let port: number;
const workers = workerProcesses(2000);
const startWorker = workers.start;

beforeAll(async () => {
  ({ server: redis, port } = await startRedis(dir));
}, 60_000);

afterAll(async () => {
  workers.killAll();
  redis?.kill("SIGKILL");
});

describe("brink run --redis", () => {
  it("gives the local job's bytes with several workers, one SIGKILLed mid-chunk, and twice submitted", async () => {
    const url = `redis://127.0.0.1:${port}/0`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      const job = ["--runs", "2000", "--seed", "11", "--chunk-size", "250", "--json"];
      const local = await brink("run", FLAGSHIP, ...job, "--save-summary", join(dir, "local.json"));
      expect(local.status).toBe(0);
      const started = await Promise.all([startWorker(url), startWorker(url), startWorker(url)]);

      const submitted = brink(
        "run",
        FLAGSHIP,
        ...job,
        "--redis",
        url,
        "--save-summary",
        join(dir, "redis.json"),
      );
      // Kill the worker that is running a chunk, once at least one chunk is done and others are still to run.
      let victim: string | undefined;
      await until("a chunk in progress", async () => {
        const counts = await queue.getJobCounts("completed", "waiting");
        if (counts.completed! < 1 || counts.waiting! < 1) return false;
        const active = await queue.getJobs(["active"]);
        victim = active.find((j) => j.processedBy)?.processedBy;
        return victim !== undefined;
      });
      const pid = Number(victim!.split(":").at(-1));
      const killed = started.find((w) => w.pid === pid)!;
      expect(killed).toBeDefined();
      killed.kill("SIGKILL");

      const ran = await submitted;
      expect(ran.stderr).toBe("");
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe(local.stdout);
      // (Compared as a boolean: a diff of two 30 MB files would not help anyone.)
      expect(readFileSync(join(dir, "redis.json")).equals(readFileSync(join(dir, "local.json")))).toBe(true);
      // The dead worker's chunk was taken back from it (stalled) and finished by another. The flagship's claims
      // name three more scenarios, run over the same indices: 8 chunks each.
      const completed = (await queue.getJobs(["completed"])).map((j) => ({
        retried: j.stalledCounter >= 1 || j.attemptsMade > 1,
        by: j.processedBy,
      }));
      expect(completed.length).toBe(32);
      expect(completed.some((j) => j.retried)).toBe(true);

      // Submitting the same job again, twice at once, reuses the finished chunks: no new chunk jobs.
      const [again, twice] = await Promise.all([
        brink("run", FLAGSHIP, ...job, "--redis", url),
        brink("run", FLAGSHIP, ...job, "--redis", url),
      ]);
      expect(again.stdout).toBe(local.stdout);
      expect(twice.stdout).toBe(local.stdout);
      expect((await queue.getJobCounts("completed")).completed).toBe(32);
      expect(completed.every((j) => j.by !== undefined)).toBe(true);
    } finally {
      await queue.close();
    }
  }, 300_000);

  it("has a worker of another engine version refuse a chunk, without retries", async () => {
    const url = `redis://127.0.0.1:${port}/1`;
    await startWorker(url);
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      await expectOtherVersionRefused(queue, "chunk", { task: {} });
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("on Ctrl-C withdraws the waiting chunks and prints the partial summary, exit 130", async () => {
    const url = `redis://127.0.0.1:${port}/2`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      // No worker serves this database: every chunk waits.
      const child = spawn(
        process.execPath,
        [BIN, "run", FLAGSHIP, "--runs", "2000", "--chunk-size", "250", "--json", "--redis", url],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      await until("chunks to be queued", async () => (await queue.getWaitingCount()) > 0, 60_000);
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      const report = JSON.parse(stdout) as { partial: boolean; runs: number };
      expect(report).toMatchObject({ partial: true, runs: 0 });
      expect(await queue.getWaitingCount()).toBe(0);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("on Ctrl-C stops the chunks running on workers, which fail as cancelled and go on serving", async () => {
    const url = `redis://127.0.0.1:${port}/6`;
    const worker = await startWorker(url);
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      // One chunk of 200,000 flagship runs: minutes of work, so only a cancellation ends it within the wait below.
      const child = spawn(
        process.execPath,
        [BIN, "run", FLAGSHIP, "--runs", "200000", "--chunk-size", "200000", "--json", "--redis", url],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      await until("the chunk to start on the worker", async () => (await queue.getActiveCount()) > 0, 60_000);
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      await until("the running chunk to stop", async () => (await queue.getActiveCount()) === 0, 30_000);
      const [failed] = await queue.getFailed();
      expect(failed?.failedReason).toContain("cancelled");
      expect(failed?.attemptsMade).toBe(1);
      expect(worker.exitCode).toBeNull();
    } finally {
      await queue.close();
    }
  }, 180_000);

  it("when the same job is submitted twice, one submitter's Ctrl-C leaves the other's chunks to finish", async () => {
    const url = `redis://127.0.0.1:${port}/8`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    const counts = new Redis(redisConnection(url) as RedisOptions);
    try {
      const job = ["--runs", "4000", "--seed", "17", "--chunk-size", "500", "--json"];
      const local = await brink("run", FLAGSHIP, ...job);
      expect(local.status).toBe(0);
      await startWorker(url);
      // Two submitters of the same chunks (the same content ids): the second waits on the first's jobs.
      // (Its output is not read: ignored, so a full pipe cannot hold up its exit.)
      const first = spawn(process.execPath, [BIN, "run", FLAGSHIP, ...job, "--redis", url], {
        cwd: ROOT,
        stdio: "ignore",
      });
      const firstExited = new Promise<number | null>((resolve) => first.on("close", resolve));
      const second = brink("run", FLAGSHIP, ...job, "--redis", url);
      // Both await a chunk still to run (each counts itself among its waiters), and chunks are running.
      const waiters = async () =>
        Promise.all((await counts.keys(jobWaitersKey("*"))).map(async (k) => Number(await counts.get(k))));
      await until("both submitters on a chunk still to run", async () => {
        const jobs = await queue.getJobCounts("active", "completed", "waiting");
        return jobs.active! > 0 && jobs.waiting! > 0 && (await waiters()).includes(2);
      });
      first.kill("SIGINT");
      expect(await firstExited).toBe(130);
      // Nothing was withdrawn or cancelled under the second: it completes with the local job's bytes.
      const ran = await second;
      expect(ran.stderr).toBe("");
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe(local.stdout);
      expect(await queue.getFailedCount()).toBe(0);
      // Each submitter left every chunk it waited on: no count is left behind to stop a later Ctrl-C.
      expect((await waiters()).every((n) => n === 0)).toBe(true);
    } finally {
      await queue.close();
      counts.disconnect();
    }
  }, 240_000);

  it("completes byte-identical when Redis (with persistence on) restarts mid-job", async () => {
    // A second server of its own, with the append-only file on, so that it can be stopped and started again.
    const ownPort = await freePort();
    const aof = join(dir, "aof");
    mkdirSync(aof);
    const args = ["--port", String(ownPort), "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", aof];
    let server = spawn("redis-server", args, { stdio: "ignore" });
    const url = `redis://127.0.0.1:${ownPort}`;
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    queue.on("error", () => {}); // this test's own client sees the outage too; it reconnects by itself
    try {
      await queue.waitUntilReady();
      const job = ["--runs", "2000", "--seed", "5", "--chunk-size", "250", "--json"];
      const local = await brink("run", FLAGSHIP, ...job);
      await startWorker(url);
      const submitted = brink("run", FLAGSHIP, ...job, "--redis", url);
      await until(
        "a finished chunk",
        async () => ((await queue.getJobCounts("completed")).completed ?? 0) >= 1,
      );
      const stopped = new Promise((resolve) => server.on("exit", resolve));
      server.kill("SIGTERM"); // a clean shutdown: the append-only file is flushed
      await stopped;
      server = spawn("redis-server", args, { stdio: "ignore" });
      const ran = await submitted;
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe(local.stdout);
    } finally {
      await queue.close();
      server.kill("SIGKILL");
    }
  }, 300_000);

  it("spreads a Sobol' design over workers and merges it to the local analysis's bytes", async () => {
    const url = `redis://127.0.0.1:${port}/4`;
    const model = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const job = ["--samples", "96", "--replicates", "2", "--seed", "5", "--json"];
    const local = await brink("sensitivity", model, ...job, "--workers", "1");
    expect(local.status).toBe(0);
    await Promise.all([startWorker(url), startWorker(url)]);
    const remote = await brink("sensitivity", model, ...job, "--redis", url, "--workers", "3");
    expect(remote.stderr).not.toMatch(/failed/);
    expect(remote.status).toBe(0);
    expect(remote.stdout).toBe(local.stdout);
    // Submitted again, every part is a finished job already: the same bytes, nothing recomputed.
    const queue = new Queue(QUEUE, { connection: redisConnection(url) });
    try {
      const parts = await queue.getJobCountByTypes("completed");
      const again = await brink("sensitivity", model, ...job, "--redis", url, "--workers", "3");
      expect(again.stdout).toBe(local.stdout);
      expect(await queue.getJobCountByTypes("completed")).toBe(parts);
      expect((await queue.getJobs(["completed"])).every((j) => j.name === "design")).toBe(true);
    } finally {
      await queue.close();
    }
  }, 240_000);

  it("runs compare and optimize on workers with the local verbs' bytes", async () => {
    const url = `redis://127.0.0.1:${port}/5`;
    await Promise.all([startWorker(url), startWorker(url)]);
    const duel = join(ROOT, "models", "examples", "war-of-attrition.yaml");
    const compareJob = ["--scenarios", "base,strong_defence", "--runs", "3000", "--seed", "3", "--json"];
    const localCompare = await brink("compare", duel, ...compareJob, "--workers", "1");
    expect(localCompare.status).toBe(0);
    const remoteCompare = await brink("compare", duel, ...compareJob, "--redis", url, "--workers", "2");
    expect(remoteCompare.stderr).not.toMatch(/failed/);
    expect(remoteCompare.stdout).toBe(localCompare.stdout);
    const growth = join(ROOT, "models", "examples", "calibrated-growth.yaml");
    const optimizeJob = [
      "--maximize",
      "E(size at 10)",
      "--subject-to",
      "P(failure by 10) <= 0.05",
      "--runs",
      "300",
      "--iterations",
      "2",
      "--candidates",
      "4",
      "--seed",
      "2",
      "--json",
    ];
    const localOptimize = await brink("optimize", growth, ...optimizeJob, "--workers", "1");
    expect(localOptimize.status).toBe(0);
    const remoteOptimize = await brink("optimize", growth, ...optimizeJob, "--redis", url);
    expect(remoteOptimize.stdout).toBe(localOptimize.stdout);
  }, 300_000);

  it("refuses a URL that is not a Redis URL", async () => {
    const ran = await brink("run", "--runs", "10", "--redis", "http://example.org");
    expect(ran.status).toBe(2);
    expect(ran.stderr).toContain("--redis must be a URL such as redis://");
  });
});
