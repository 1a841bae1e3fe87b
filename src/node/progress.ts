import type cliProgress from "cli-progress";
import type { Progress } from "./simulate.js";

/**
 * A progress bar on stderr (runs/s and ETA) that appears only once a job has run for a second, so short jobs
 * print nothing. Only on a terminal unless forced.
 */
export function progressBar(options: { force?: boolean; stream?: NodeJS.WriteStream } = {}) {
  const stream = options.stream ?? process.stderr;
  const enabled = options.force ?? stream.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  // Loaded only where a bar may show, in the background: it is needed after a second at the earliest.
  let bars: typeof cliProgress | undefined;
  if (enabled)
    void import("cli-progress").then((m) => {
      bars = m.default;
    });
  return {
    update(p: Progress): void {
      if (!enabled) return;
      if (!bar) {
        if (p.elapsedSeconds < 1 || !bars) return;
        bar = new bars.SingleBar(
          {
            stream,
            format: "runs {bar} {value}/{total} | {rate} runs/s | ETA {eta_formatted}",
            noTTYOutput: options.force === true,
            notTTYSchedule: 1000,
            hideCursor: false,
            etaBuffer: 50,
          },
          bars.Presets.shades_classic,
        );
        bar.start(p.total, p.done, { rate: "…" });
      }
      bar.update(p.done, { rate: Math.round(p.runsPerSecond).toLocaleString("en") });
    },
    stop(): void {
      bar?.stop();
      bar = undefined;
    },
  };
}
