import { z } from "zod";

/**
 * The model-file format. Sections accept a shorthand (a bare number or expression) or a full object; the loader
 * normalises shorthands to objects before validating with the *Object schemas, and `modelFileJsonSchema` publishes
 * both forms for editors.
 */
const meta = {
  unit: z.string().optional().describe("unit of measure, e.g. 'soldiers/week' or '1/year'"),
  doc: z.string().optional().describe("what this is, in a sentence"),
  source: z.string().optional().describe("where the number comes from (title, date), or 'judgement: why'"),
  group: z.string().optional().describe("the mechanism this belongs to"),
};

const expression = z
  .union([z.string(), z.number()])
  .describe("an expression: numbers, names, + - * / ^ %, comparisons, and/or/not, if-then-else, calls");

export const ParamObject = z.strictObject({
  value: z.number().optional().describe("a fixed value"),
  dist: z
    .union([z.string(), z.number()])
    .optional()
    .describe(
      'a distribution: "a to b" (90% interval), normal(m, sd), lognormal(mu, sigma), uniform(a, b), …',
    ),
  ...meta,
});

/**
 * A stock's net rate is one chain of its flows (f1 + f2 − g1 …), so the number of flows bounds that chain's depth
 * as the expression limit bounds an equation's: every later walk stays within the call stack.
 */
export const MAX_FLOWS_PER_LIST = 500;

export const StockObject = z.strictObject({
  init: expression.describe("initial value (an expression over params and other initial values)"),
  inflows: z.array(z.string()).max(MAX_FLOWS_PER_LIST).optional().describe("flows that add to the stock"),
  outflows: z.array(z.string()).max(MAX_FLOWS_PER_LIST).optional().describe("flows that drain the stock"),
  min: z.number().optional().describe("the stock never goes below this"),
  max: z.number().optional().describe("the stock never goes above this"),
  ...meta,
});

export const EquationObject = z.strictObject({ eq: expression, ...meta });

const point = z.tuple([z.number(), z.number()]);
export const TableObject = z.strictObject({
  points: z.array(point).min(2).describe("[x, y] pairs with increasing x"),
  type: z
    .enum(["continuous", "extrapolate", "discrete"])
    .optional()
    .describe(
      "continuous (default): clamp at the ends; extrapolate: extend the end segments; discrete: steps",
    ),
  ...meta,
});

export const EventObject = z.strictObject({
  when: expression.optional().describe("fires on each step where this condition turns true"),
  rate: expression
    .optional()
    .describe("hazard per time unit: fires with probability 1 − exp(−rate·dt) per step"),
  then: z.record(z.string(), expression).optional().describe("assignments applied at the end of the step"),
  ...meta,
});

export const OutcomeObject = z.strictObject({
  when: expression.optional().describe("ends the run on the first step where this is true"),
  rate: expression.optional().describe("ends the run with hazard `rate` per time unit"),
  ...meta,
});

const timeValue = z.union([z.number(), z.string()]);
export const TimeObject = z.strictObject({
  start: timeValue.describe("a number or an ISO date such as 2025-08-21"),
  stop: timeValue.describe("a number, an ISO date, or a duration after start such as '5 years'"),
  dt: timeValue.describe("the step: a number of time units or a duration such as '1 week'"),
  unit: z.string().optional().describe("the time unit; taken from dt when dt is a duration"),
  save: timeValue.optional().describe("how often tracked values are saved (default: every step)"),
  clock: z
    .strictObject({
      dt: z.string().optional().describe("a var whose value at each time is the step taken from it"),
      save: z
        .string()
        .optional()
        .describe("a var: values are saved at the times that are a multiple of it after start"),
      stop: z.string().optional().describe("a var: the run ends at the first step whose time reaches it"),
    })
    .optional()
    .describe(
      "a clock that changes during the run: vars of time and constants read every step (see model-format.md)",
    ),
});

export const DecisionObject = z.strictObject({
  value: z.number().describe("the value used unless a run or the optimiser sets another"),
  min: z.number().describe("smallest allowed value"),
  max: z.number().describe("largest allowed value"),
  integer: z.boolean().optional().describe("only whole numbers"),
  ...meta,
});

export const GroupObject = z.strictObject({
  doc: z.string().describe("what this mechanism says, in a sentence"),
  source: z.string().optional().describe("where the claim comes from (title and section)"),
  switch: z.string().optional().describe("the param (0 or 1) that turns this mechanism off"),
});

export const ClaimObject = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, "claim ids use letters, digits, '_', '.', '-'"),
  text: z.string().optional().describe("the claim in words"),
  check: z.string().describe("e.g. P(regime_collapse) > P(ukraine_collapse)"),
  source: z.string().optional(),
});

export const LeverObject = z.strictObject({
  label: z.string().describe("what the player sets, in a few words"),
  unit: z.string().optional(),
  min: z.number(),
  max: z.number(),
  step: z.number().positive(),
  value: z.number().describe("the setting before the player moves it"),
  adds_to: z.string().optional().describe("a stock: the value is added to it at the start of each turn"),
  scales: z.string().optional().describe("a var: it is multiplied by the value during the turn"),
  doc: z.string().optional(),
});

export const WarRoomRoleObject = z.strictObject({
  label: z.string().describe("who the player is"),
  doc: z.string().optional(),
  levers: z.record(z.string(), LeverObject),
  set: z
    .record(z.string(), z.number())
    .optional()
    .describe("params set for the game, e.g. the model's own rule for this actor switched off"),
  risk: z.string().describe("the outcome whose risk over the coming turn is shown"),
  optimise: z
    .strictObject({
      decisions: z.array(z.string()).describe("decisions the debrief's optimiser may vary"),
      objective: z.string().describe("the tracked variable whose mean it maximises at the player's risk"),
    })
    .optional(),
});

export const WarRoomObject = z.strictObject({
  doc: z.string().optional(),
  turns: z.number().int().positive().max(600).optional().describe("months in a game (default 24)"),
  watch: z.array(z.string()).describe("tracked variables shown each turn"),
  roles: z.record(z.string(), WarRoomRoleObject),
});

const noiseValue = z
  .union([z.number(), z.string()])
  .describe("a number, or the name of a param (which may be uncertain, and is then calibrated too)");

export const ObservationObject = z.strictObject({
  variable: z.string().describe("the model variable observed: a stock, flow or var"),
  file: z.string().describe("the data file, CSV or JSON (a list of records), relative to the model file"),
  date: z.string().optional().describe("the column of ISO dates (a dated model's default: 'date')"),
  time: z.string().optional().describe("the column of model times, instead of dates"),
  value: z.string().optional().describe("the column of observed values (default: 'value')"),
  change: z
    .union([z.string(), z.number()])
    .optional()
    .describe("observe the variable's change over this period (e.g. 'month') instead of its level"),
  noise: z
    .enum(["normal", "lognormal", "student_t", "negative_binomial", "none"])
    .optional()
    .describe(
      "the measurement model: how an observation scatters around the model's value; 'none' (or absent): no likelihood, the entry is fitted by ABC-SMC on a distance",
    ),
  sd: noiseValue.optional().describe("normal: the sd; lognormal: the sd of the log"),
  scale: noiseValue
    .optional()
    .describe("student_t: the scale; none (ABC): the entry's differences are divided by it in the distance"),
  df: noiseValue.optional().describe("student_t: the degrees of freedom"),
  dispersion: noiseValue.optional().describe("negative_binomial: k, with variance mean + mean²/k"),
  ...meta,
});

const sections = {
  params: z.record(z.string(), ParamObject).optional(),
  stocks: z.record(z.string(), StockObject).optional(),
  flows: z.record(z.string(), EquationObject).optional(),
  vars: z.record(z.string(), EquationObject).optional(),
  tables: z.record(z.string(), TableObject).optional(),
  events: z.record(z.string(), EventObject).optional(),
  outcomes: z.record(z.string(), OutcomeObject).optional(),
  decisions: z.record(z.string(), DecisionObject).optional(),
};

/** In a scenario, an entry set to null removes that entry from the base model. */
const removable = {
  params: z.record(z.string(), ParamObject.nullable()).optional(),
  stocks: z.record(z.string(), StockObject.nullable()).optional(),
  flows: z.record(z.string(), EquationObject.nullable()).optional(),
  vars: z.record(z.string(), EquationObject.nullable()).optional(),
  tables: z.record(z.string(), TableObject.nullable()).optional(),
  events: z.record(z.string(), EventObject.nullable()).optional(),
  outcomes: z.record(z.string(), OutcomeObject.nullable()).optional(),
  decisions: z.record(z.string(), DecisionObject.nullable()).optional(),
};

export const ScenarioObject = z.strictObject({
  doc: z.string().optional(),
  source: z.string().optional(),
  time: TimeObject.partial().optional(),
  method: z.enum(["euler", "rk4"]).optional(),
  track: z.array(z.string()).optional(),
  claims: z.array(ClaimObject).optional().describe("replaces the base model's claims"),
  ...removable,
});

export const ModelObject = z.strictObject({
  brink: z.literal(1).describe("format version"),
  name: z.string(),
  doc: z.string().optional(),
  source: z.string().optional(),
  time: TimeObject,
  method: z.enum(["euler", "rk4"]).optional(),
  ...sections,
  track: z.array(z.string()).optional(),
  groups: z
    .record(z.string(), GroupObject)
    .optional()
    .describe("named mechanisms: entries join one with `group`"),
  claims: z.array(ClaimObject).optional(),
  warroom: WarRoomObject.optional().describe("a turn-by-turn game: the player sets levers month by month"),
  observations: z
    .record(z.string(), ObservationObject)
    .optional()
    .describe("data the model claims to explain, with a measurement model each (for `brink calibrate`)"),
  scenarios: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export type ParamSpec = z.infer<typeof ParamObject>;
export type DecisionSpec = z.infer<typeof DecisionObject>;
export type StockSpec = z.infer<typeof StockObject>;
export type EquationSpec = z.infer<typeof EquationObject>;
export type TableSpec = z.infer<typeof TableObject>;
export type EventSpec = z.infer<typeof EventObject>;
export type OutcomeSpec = z.infer<typeof OutcomeObject>;
export type TimeSpec = z.infer<typeof TimeObject>;
export type ClaimSpec = z.infer<typeof ClaimObject>;
export type ModelSpec = z.infer<typeof ModelObject>;
export type WarRoomSpec = z.infer<typeof WarRoomObject>;
export type ObservationSpec = z.infer<typeof ObservationObject>;

/** Shorthand forms, by section: which field a bare value stands for. */
export const SHORTHAND_FIELD: Record<string, string> = {
  params: "value",
  stocks: "init",
  flows: "eq",
  vars: "eq",
  tables: "points",
};

/** The JSON Schema of the file format, shorthands included, for editors (`brink schema`). */
export function modelFileJsonSchema(): unknown {
  const shorthand = <T extends z.ZodType>(obj: T, bare: z.ZodType) => z.union([bare, obj]);
  const withShorthands = {
    params: z.record(z.string(), shorthand(ParamObject, z.union([z.number(), z.string()]))).optional(),
    stocks: z.record(z.string(), shorthand(StockObject, expression)).optional(),
    flows: z.record(z.string(), shorthand(EquationObject, expression)).optional(),
    vars: z.record(z.string(), shorthand(EquationObject, expression)).optional(),
    tables: z.record(z.string(), shorthand(TableObject, z.array(point))).optional(),
  };
  const scenario = ScenarioObject.extend(withShorthands).partial();
  const file = ModelObject.extend({
    ...withShorthands,
    scenarios: z.record(z.string(), scenario).optional(),
  });
  return {
    ...z.toJSONSchema(file, { io: "input", unrepresentable: "any" }),
    title: "Brink model file",
  };
}
