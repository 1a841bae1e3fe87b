import { dirname, relative, resolve } from "node:path";
import { type ObservationSeries, parseObservations } from "../analysis/calibrate/observations.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import { MAX_MODEL_BYTES } from "../model/source.js";
import { readTextFile } from "./files.js";

/**
 * The observation series of a model file: each entry's data file read relative to the model file (a missing or
 * unreadable one is reported at the entry's `file` key), then parsed and checked by parseObservations.
 */
export function loadObservations(modelPath: string, loaded: LoadedModel): ObservationSeries[] {
  return parseObservations(loaded, (name, path) => {
    const full = resolve(dirname(modelPath), path);
    const fail = (why: string) =>
      new DiagnosticError([
        loaded.source.at(
          ["observations", name, "file"],
          `observation '${name}': cannot read '${path}' (${why})`,
        ),
      ]);
    try {
      // Read with a byte cap: a model file may name /dev/zero or another endless file.
      const text = readTextFile(full, MAX_MODEL_BYTES, "data files");
      const shown = relative(process.cwd(), full);
      return { file: shown.startsWith("..") ? full : shown, text };
    } catch (e) {
      if (e instanceof DiagnosticError) throw fail(e.diagnostics[0]?.message ?? "unreadable");
      throw e;
    }
  });
}
