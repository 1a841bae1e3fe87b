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
export const SECTION_KIND: Record<string, string> = {
  params: "param",
  stocks: "stock",
  flows: "flow",
  vars: "var",
  tables: "table",
  events: "event",
  outcomes: "outcome",
  decisions: "decision",
};
