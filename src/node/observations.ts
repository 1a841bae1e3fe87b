import { relative } from "node:path";
import { type ObservationSeries, parseObservations } from "../analysis/calibrate/observations.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import { MAX_MODEL_BYTES } from "../model/source.js";
import { insideModelFolder, readFileBytes } from "./files.js";

/**
 * The observation series of a model file: each entry's data file read relative to the model file and confined to
 * its folder (a missing, unreadable or outside one is reported at the entry's `file` key), then parsed and checked
 * by parseObservations.
 */
export function loadObservations(modelPath: string, loaded: LoadedModel): ObservationSeries[] {
  return parseObservations(loaded, (name, path) => {
    const fail = (why: string) =>
      new DiagnosticError([
        loaded.source.at(
          ["observations", name, "file"],
          `observation '${name}': cannot read '${path}' (${why})`,
        ),
      ]);
    // Confined like the files a Vensim model names: an untrusted model must not read /etc/passwd as "data".
    let full: string;
    try {
      full = insideModelFolder(modelPath, path);
    } catch (e) {
      throw fail((e as Error).message);
    }
    try {
      // Read with a byte cap, and only a regular file: a model file may name /dev/zero, or a FIFO that would block.
      const text = new TextDecoder("utf-8").decode(
        readFileBytes(full, MAX_MODEL_BYTES, "data files", { regularOnly: true }),
      );
      const shown = relative(process.cwd(), full);
      return { file: shown.startsWith("..") ? full : shown, text };
    } catch (e) {
      if (e instanceof DiagnosticError) throw fail(e.diagnostics[0]?.message ?? "unreadable");
      throw e;
    }
  });
}
