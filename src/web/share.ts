import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from "lz-string";

/** What a share link carries: the model text itself and the run settings, so the numbers are reproducible. */
export interface Shared {
  file: string;
  text: string;
  runs: number;
  seed: number;
  scenario: string;
}

/** The page's address with the model and settings compressed into its fragment (never sent to a server). */
export function shareLink(href: string, shared: Shared): string {
  const url = new URL(href);
  url.hash = `share=${compressToEncodedURIComponent(JSON.stringify(shared))}`;
  return url.toString();
}

export function readShareLink(href: string): Shared | undefined {
  const m = /#share=([^&]+)/.exec(new URL(href).hash);
  if (!m) return undefined;
  try {
    const value = JSON.parse(decompressFromEncodedURIComponent(m[1]!) ?? "null") as Partial<Shared> | null;
    if (!value || typeof value.text !== "string") return undefined;
    return {
      file: typeof value.file === "string" ? value.file : "shared.yaml",
      text: value.text,
      runs: Number(value.runs) || 2000,
      seed: Number(value.seed) || 0,
      scenario: typeof value.scenario === "string" ? value.scenario : "base",
    };
  } catch {
    return undefined;
  }
}
