import type { Progress, SimulateOptions, SimulationResult } from "../analysis/simulate.js";

type Simulate = (
  input: { file: string; text: string },
  options: SimulateOptions & { onProgress?: (p: Progress) => void },
) => Promise<SimulationResult>;

/**
 * Run orchestration: one job at a time. Starting a run stops the one in flight, and a stopped job's result
 * and late progress ticks are dropped, so what the page shows is always the latest job's. The simulation is
 * injected (the page's Web Workers), so Node tests drive it with a fake.
 */
export class Runs {
  private controller: AbortController | undefined;

  constructor(private readonly simulate: Simulate) {}

  /** The job's result, or undefined when it was cancelled or superseded before it ended. */
  async start(
    input: { file: string; text: string },
    settings: { runs: number; seed: number; scenario?: string | undefined },
    onProgress: (p: Progress) => void = () => {},
  ): Promise<SimulationResult | undefined> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const result = await this.simulate(input, {
        runs: settings.runs,
        seed: settings.seed,
        ...(settings.scenario ? { scenario: settings.scenario } : {}),
        signal: controller.signal,
        // A cancelled job's last ticks must not overwrite "Cancelled.".
        onProgress: (p) => {
          if (!controller.signal.aborted) onProgress(p);
        },
      });
      return controller.signal.aborted ? undefined : result;
    } catch (e) {
      if (controller.signal.aborted) return undefined;
      throw e;
    }
  }

  cancel(): void {
    this.controller?.abort();
  }
}
