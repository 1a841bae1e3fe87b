/// <reference lib="webworker" />
import { type DesignRowsTask, evaluateDesignRows } from "../analysis/sensitivity-job.js";
import { type RunsTask, runsTask } from "../analysis/signposts.js";
import { WarRoomGame } from "../analysis/warroom.js";
import { type EvidenceTask, evidenceTask } from "../analysis/weigh.js";
import { type ChunkTask, runTask } from "../engine/chunk-task.js";
import { DiagnosticError, formatDiagnostic } from "../lang/diagnostic.js";

/**
 * A Web Worker of the browser app: it runs Monte Carlo chunks and batches of sensitivity-design points (the
 * same functions as Node's worker threads), one scenario's evidence for the weighing of theses (as `brink weigh`'s
 * worker threads) or a range of its runs for the signposts, and hosts a war-room game. Requests carry an id; each answer echoes it.
 */
export type WorkerRequest =
  | { id: number; kind: "chunk"; task: ChunkTask }
  | { id: number; kind: "design-rows"; task: DesignRowsTask }
  | { id: number; kind: "evidence"; task: EvidenceTask }
  | { id: number; kind: "runs"; task: RunsTask }
  | {
      id: number;
      kind: "warroom-start";
      file: string;
      text: string;
      role: string;
      seed: number;
      history: number;
      turns: number;
    }
  | { id: number; kind: "warroom-forecast"; choice: Record<string, number>; runs: number }
  | {
      id: number;
      kind: "warroom-advance";
      choice: Record<string, number>;
      risk: { p: number; lo: number; hi: number } | null;
    };

export type WorkerAnswer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; progress: number; total: number };

const scope = self as unknown as DedicatedWorkerGlobalScope;
let game: WarRoomGame | undefined;

scope.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  const reply = (value: unknown, transfer: Transferable[] = []) =>
    scope.postMessage({ id: request.id, ok: true, value } satisfies WorkerAnswer, transfer);
  try {
    switch (request.kind) {
      case "chunk": {
        const result = runTask(request.task);
        reply(result, "summary" in result ? [result.summary.buffer] : []);
        return;
      }
      case "design-rows": {
        const out = evaluateDesignRows(request.task);
        reply(out, [out.buffer]);
        return;
      }
      case "evidence": {
        // The sampler's iterations as progress (every 25th: a message per iteration would flood the page).
        const { chains, iterations, burnIn } = request.task.settings;
        const perChain = iterations + burnIn;
        const tick = (chain: number, iteration: number) => {
          if (iteration % 25 === 24 || iteration + 1 === perChain)
            scope.postMessage({
              id: request.id,
              progress: chain * perChain + iteration + 1,
              total: chains * perChain,
            } satisfies WorkerAnswer);
        };
        evidenceTask(request.task, tick).then(reply, (e: unknown) => fail(e));
        return;
      }
      case "runs": {
        const part = runsTask(request.task);
        reply(part, [part.values.buffer, part.ends.buffer, part.outcomes.buffer]);
        return;
      }
      case "warroom-start":
        game = new WarRoomGame(request.file, request.text, {
          role: request.role,
          seed: request.seed,
          history: request.history,
          turns: request.turns,
        });
        reply({ state: game.state(), times: game.times.length - 1, config: game.config });
        return;
      case "warroom-forecast":
        if (!game) throw new Error("no game");
        reply(game.forecast(request.choice, request.runs));
        return;
      case "warroom-advance":
        if (!game) throw new Error("no game");
        reply({
          state: game.advance(request.choice, request.risk),
          over: game.over,
          log: game.log,
          text: game.modelText(),
        });
        return;
    }
  } catch (e) {
    fail(e);
  }
  function fail(e: unknown): void {
    const error =
      e instanceof DiagnosticError
        ? e.diagnostics.map(formatDiagnostic).join("\n")
        : e instanceof Error
          ? e.message
          : String(e);
    scope.postMessage({ id: request.id, ok: false, error } satisfies WorkerAnswer);
  }
};
