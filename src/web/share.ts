import { compressToEncodedURIComponent } from "lz-string";
import { decompressLinkText } from "./lz.js";

/** What a share link carries: the model text itself and the run settings, so the numbers are reproducible. */
export interface Shared {
  file: string;
  text: string;
  runs: number;
  seed: number;
  scenario: string;
}

/** Bounds a link must keep: the page's own limits on runs, and a model text far larger than any bundled one. */
export interface ShareLimits {
  fragment: number;
  text: number;
  name: number;
  maxRuns: number;
}

export const SHARE_LIMITS: ShareLimits = {
  /** Characters of the compressed fragment (browsers cut URLs near 2 MB anyway). */
  fragment: 1_000_000,
  /** Characters of the model text once decompressed (with its JSON wrapping; decoding stops past it). */
  text: 2_000_000,
  /** Characters of a file or scenario name. */
  name: 200,
  maxRuns: 1_000_000,
};

/** The page's address with the model and settings compressed into its fragment (never sent to a server). */
export function shareLink(href: string, shared: Shared): string {
  const url = new URL(href);
  url.hash = `share=${compressToEncodedURIComponent(JSON.stringify(shared))}`;
  return url.toString();
}

/** A name as a link may carry it: a string of printable characters, short enough to show. */
const nameOk = (s: unknown, limits: ShareLimits): s is string =>
  typeof s === "string" && s.length > 0 && s.length <= limits.name && !/[\u0000-\u001f\u007f]/.test(s);

/**
 * The model and settings of a share link, or undefined when the address has none or it is malformed (not
 * lz-string, not JSON, a field of the wrong type, runs or seed out of range, an oversized text). Absent
 * settings take the page's defaults. What comes back is still untrusted text: the page escapes every name
 * it shows (html.ts) and the model is checked like any file.
 */
export function readShareLink(href: string, limits: ShareLimits = SHARE_LIMITS): Shared | undefined {
  const m = /#share=([^&]+)/.exec(new URL(href).hash);
  if (!m || m[1]!.length > limits.fragment) return undefined;
  let value: unknown;
  try {
    const json = decompressLinkText(m[1]!, limits.text + 10_000);
    if (!json) return undefined;
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.text !== "string" || v.text.length > limits.text) return undefined;
  if (v.file !== undefined && !nameOk(v.file, limits)) return undefined;
  if (v.scenario !== undefined && !nameOk(v.scenario, limits)) return undefined;
  const runs = v.runs ?? 2000;
  const seed = v.seed ?? 0;
  if (!Number.isInteger(runs) || (runs as number) < 1 || (runs as number) > limits.maxRuns) return undefined;
  if (!Number.isSafeInteger(seed) || (seed as number) < 0) return undefined;
  return {
    file: (v.file as string | undefined) ?? "shared.yaml",
    text: v.text,
    runs: runs as number,
    seed: seed as number,
    scenario: (v.scenario as string | undefined) ?? "base",
  };
}
