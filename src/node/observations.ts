import { readFileSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { type ObservationSeries, parseObservations } from "../analysis/calibrate/observations.js";
import { DiagnosticError } from "../lang/diagnostic.js";
import type { LoadedModel } from "../model/load.js";
import { MAX_MODEL_BYTES } from "../model/source.js";

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
      const st = statSync(full);
      if (st.isDirectory()) throw fail("it is a directory");
      if (st.size > MAX_MODEL_BYTES) throw fail(`larger than ${MAX_MODEL_BYTES / 1024 / 1024} MB`);
      const shown = relative(process.cwd(), full);
      return { file: shown.startsWith("..") ? full : shown, text: readFileSync(full, "utf8") };
    } catch (e) {
      if (e instanceof DiagnosticError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw fail(code === "ENOENT" ? "no such file" : (code ?? String(e)));
    }
  });
}
