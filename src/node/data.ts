import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "./files.js";

/** Where the public datasets live: $BRINK_DATA, else ../shared/data beside the project. */
export function dataDir(): string {
  return process.env.BRINK_DATA ?? join(PACKAGE_ROOT, "..", "shared", "data");
}

/** Read a dataset file, or say why it is not there (for tests that skip with a printed reason). */
export function readDataset(relative: string): string {
  const path = join(dataDir(), relative);
  if (!existsSync(path))
    throw new Error(
      `dataset ${relative} not found under ${dataDir()} (set BRINK_DATA to the shared data folder)`,
    );
  return readFileSync(path, "utf8");
}

export function hasDatasets(): boolean {
  return existsSync(dataDir());
}
