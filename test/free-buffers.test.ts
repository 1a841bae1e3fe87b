import { readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type ChunkPool, runSimulation, type SimulateOptions } from "../src/analysis/simulate.js";
import { runTask } from "../src/engine/chunk-task.js";
import { runChunk } from "../src/engine/montecarlo.js";
import { dropSpareBuffers, setBufferDiscarder } from "../src/engine/sketch.js";
import { freeBufferNow } from "../src/node/free-buffer.js";
import { closeWorkers } from "../src/node/simulate.js";
import { example, prepareFile } from "./helpers.js";

// Summaries free the buffers they drop at once (a chunk's packed array once merged, spare nodes beyond the pool,
// report views, a worker's spares between chunks) rather than leaving them to the collector: what a million-run
// job's peak memory was made of. Freed buffers are detached, so a buffer still read after it was freed would
// show as missing values — the reports below would differ.

afterAll(() => closeWorkers());
afterEach(() => setBufferDiscarder(freeBufferNow));

const SIR = example("sir.yaml");
const sir = { file: SIR, text: readFileSync(SIR, "utf8") };

/** A host whose pool runs chunk tasks on this thread and keeps every packed summary it handed over. */
function keepingHost() {
  const handedOver: Float64Array[] = [];
  const pool: ChunkPool = {
    sharedMemory: false,
    run: async (task) => {
      const result = runTask(task);
      if ("summary" in result) handedOver.push(result.summary);
      return result;
    },
  };
  return {
    handedOver,
    host: { cores: 2, yieldToEvents: () => new Promise<void>((r) => setImmediate(r)), pool: () => pool },
  };
}

describe("summaries free what they drop", () => {
  // 6,000 SIR runs are two complete leaves of 2,880 runs and part of a third: chunks of 1,500 hand over parts of
  // leaves, of 5,760 a node and a partial leaf.
  const options: SimulateOptions = { runs: 6000, seed: 5, scenario: "uncertain", workers: 2 };

  it("frees every chunk's packed summary once merged, and the result is the same bytes as when nothing is freed", async () => {
    const freed = keepingHost();
    const a = await runSimulation(sir, { ...options, chunkSize: 1500 }, freed.host);
    expect(freed.handedOver.length).toBe(4);
    // Detached: their memory is gone from this thread, not waiting for the collector.
    for (const packed of freed.handedOver) expect(packed.length).toBe(0);

    const discarded: ArrayBuffer[] = [];
    setBufferDiscarder((buffer) => discarded.push(buffer));
    const kept = keepingHost();
    const b = await runSimulation(sir, { ...options, chunkSize: 1500 }, kept.host);
    for (const packed of kept.handedOver) expect(packed.length).toBeGreaterThan(0);
    // Packed arrays, views the report read, pool overflow.
    expect(discarded.length).toBeGreaterThan(4);

    setBufferDiscarder(freeBufferNow);
    const other = keepingHost();
    const c = await runSimulation(sir, { ...options, chunkSize: 5760 }, other.host);
    const bytes = (r: typeof a) => Buffer.from(r.summary.pack().data.buffer);
    expect(JSON.stringify(a.report)).toBe(JSON.stringify(b.report));
    expect(JSON.stringify(c.report)).toBe(JSON.stringify(a.report));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(c).equals(bytes(a))).toBe(true);
  });

  it("a worker's spare leaves and nodes are freed between chunks", () => {
    const model = prepareFile(SIR, "uncertain");
    const discarded: number[] = [];
    setBufferDiscarder((buffer) => discarded.push(buffer.byteLength));
    const meta = {
      model: "sir",
      modelHash: "0",
      scenario: "uncertain",
      seed: 1,
      sampling: "random" as const,
      designRuns: null,
    };
    const summary = runChunk(model, { meta, start: 0, end: 5760 });
    const { leafRuns, capacity, cells } = summary.quantiles;
    summary.pack();
    summary.release();
    discarded.length = 0;
    dropSpareBuffers();
    // Two leaves were filled and combined into a node: both leaves' room and the node's go.
    expect(discarded.filter((b) => b === cells * leafRuns * 8).length).toBe(2);
    expect(discarded.filter((b) => b === cells * capacity * 8).length).toBe(1);
    discarded.length = 0;
    dropSpareBuffers();
    expect(discarded).toEqual([]);
  });
});
