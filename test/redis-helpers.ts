import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { Queue } from "bullmq";
import { expect } from "vitest";
import { redisConnection } from "../src/node/distributed.js";
import { BIN, freePort } from "./cli-helpers.js";
import { ROOT } from "./helpers.js";

export { freePort };

// What the tests of distributed jobs share: a real redis-server (Debian's, installed by .ci/run) on a free
// loopback port, and real `brink worker` processes.

if (spawnSync("redis-server", ["--version"]).status !== 0)
  throw new Error("these tests need redis-server on PATH (apt-get install redis-server; see .ci/run)");

/** Poll `check` until it holds, failing after timeoutMs. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server without persistence on a free loopback port, resolved once it answers. */
export async function startRedis(dir: string): Promise<{ server: ChildProcess; port: number }> {
  const port = await freePort();
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const probe = new Queue("probe", { connection: redisConnection(`redis://127.0.0.1:${port}`) });
  await probe.waitUntilReady();
  await probe.close();
  return { server, port };
}

/** `brink worker` processes with one lock duration, each resolved once it serves; killAll ends them all. */
export function workerProcesses(lockDurationMs: number) {
  const started: ChildProcess[] = [];
  return {
    async start(url: string): Promise<ChildProcess> {
      const child = spawn(
        process.execPath,
        [BIN, "worker", "--redis", url, "--lock-duration", String(lockDurationMs)],
        { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
      );
      started.push(child);
      let err = "";
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
      await until("a worker to start", async () => err.includes("serving chunks"), 60_000);
      return child;
    },
    killAll(): void {
      for (const w of started) w.kill("SIGKILL");
    },
  };
}

/**
 * Submit a `name` job that claims another engine version (fields `payload` besides the version) and check that a
 * worker refuses it once, naming the version, with no retries although five attempts were allowed.
 */
export async function expectOtherVersionRefused(
  queue: Queue,
  name: string,
  payload: Record<string, unknown>,
): Promise<void> {
  const job = await queue.add(
    name,
    { ...payload, engineVersion: "0.0.0-other" },
    { jobId: "other-version", attempts: 5, backoff: { type: "fixed", delay: 100 } },
  );
  await until(`the ${name} task to fail`, async () => (await job.getState()) === "failed", 60_000);
  const failed = (await queue.getJob("other-version"))!;
  expect(failed.failedReason).toContain("submitted by Brink 0.0.0-other");
  expect(failed.attemptsMade).toBe(1);
}
