import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // dist/ is built before any test when src/ is newer (CLI tests, worker threads and the app load dist/).
    globalSetup: ["test/global-setup.ts"],
    // Each test file in its own process: tests start worker threads and child processes and listen on ports,
    // and a process can be torn down whole. Vitest 4's worker RPC has no 60 s timeout (Vitest 3's fired when a
    // test kept its thread busy that long on a loaded machine, failing a run whose tests all passed).
    pool: "forks",
    // Test files that run models use every core through worker threads; running more files than half the cores
    // at once only makes each slower, so the timeouts below would need to stretch with the load.
    maxWorkers: Math.max(1, Math.floor(availableParallelism() / 2)),
    // Generous: a loaded machine (every core busy with other work) runs the slowest tests several times slower.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
