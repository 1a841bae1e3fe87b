import { ENTRY_KIND } from "../model/names.js";

/** The named sections of a model file and their words in messages; all share one namespace. */
export const NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;
/** Sections whose entries are named, in declaration order; all share one namespace. */
export const NAMED_SECTIONS = [
  "params",
  "decisions",
  "stocks",
  "flows",
  "vars",
  "tables",
  "events",
  "outcomes",
] as const;
/** Each named section's entry kind, as messages say it (the model layer's one table). */
export const SECTION_KIND = ENTRY_KIND;
