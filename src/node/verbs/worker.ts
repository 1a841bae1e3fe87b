import { type Verb, wholeNumber } from "./shared.js";

interface WorkerOptions {
  redis: string;
  concurrency: number;
  lockDuration: number;
}

export const worker: Verb = {
  name: "worker",
  register(program, { io, exit, fail }) {
    program
      .command("worker")
      .description(
        "serve the jobs of `--redis` verbs (run, compare, sensitivity, optimize, backtest) from a Redis queue until Ctrl-C or SIGTERM",
      )
      .requiredOption("--redis <url>", "the Redis server, e.g. redis://127.0.0.1:6379")
      .option(
        "--concurrency <n>",
        "chunks run at once, each in its own worker thread",
        wholeNumber("--concurrency", 1, 64),
        1,
      )
      .option(
        "--lock-duration <ms>",
        "how long a chunk stays locked without renewal; a dead worker's chunk is retried after this",
        wholeNumber("--lock-duration", 1000, 3_600_000),
        30_000,
      )
      .action(async (opts: WorkerOptions) => {
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          io.err(`brink worker: serving chunks from ${opts.redis} (concurrency ${opts.concurrency})\n`);
          const { serveChunks } = await import("../distributed.js");
          await serveChunks(
            opts.redis,
            { concurrency: opts.concurrency, lockDurationMs: opts.lockDuration },
            controller.signal,
          );
        } catch (e) {
          exit(await fail(e));
        } finally {
          process.removeListener("SIGINT", stop);
          process.removeListener("SIGTERM", stop);
        }
      });
  },
};
