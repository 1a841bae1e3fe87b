import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { ROOT } from "./helpers.js";

export const BIN = join(ROOT, "bin", "brink.js");

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the built CLI as a user does, in ROOT, without blocking the test worker's thread: a spawnSync would stall
 * its event loop for the whole run, and on a loaded machine Vitest's 60 s RPC to the worker then times out.
 */
export function brink(...args: string[]): Promise<Ran> {
  return run(process.execPath, [BIN, ...args]);
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** `brink calibrate m.yaml …` in `dir` (a model file and its data written there by the test). */
export function calibrateModelIn(dir: string, args: string[]): Promise<Ran> {
  return run(process.execPath, [BIN, "calibrate", "m.yaml", ...args], { cwd: dir });
}

/** A temporary folder for this test file, removed when its tests end. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `brink-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A loopback port no one listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
