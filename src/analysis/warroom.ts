import { parseDocument, type YAMLMap } from "yaml";
import { type PreparedModel, prepareModel } from "../engine/prepare.js";
import { BranchStreams, CountingStreams } from "../engine/rng.js";
import { type RunEnd, Runner } from "../engine/run.js";
import type { ModelSpec } from "../model/schema.js";
import { modelTimeToDate, UNIT_DAYS } from "../model/time.js";
import { wilson } from "./stats.js";

/**
 * The war room: a player sets a model's levers turn by turn along one sampled history. Each turn the player
 * sees the model's estimate from the current state — Monte Carlo continuations that retrace the history and
 * then go their own way (BranchStreams) — and then advances one turn along the history.
 *
 * The player's choices enter the model as text: each lever becomes a step table over time (its value per turn,
 * the last choice held to the horizon) wired into the model, so the game is an ordinary Brink model that the
 * same checker and compiler run.
 */
export interface WarRoomLever {
  id: string;
  label: string;
  unit: string;
  min: number;
  max: number;
  step: number;
  /** The lever's value before the player touches it. */
  value: number;
  /**
   * add-to-stock: the value is added to `target` (a stock) at the start of each turn;
   * scale-variable: `target` (a var) is multiplied by the value during the turn.
   */
  kind: "add-to-stock" | "scale-variable";
  target: string;
}

export interface WarRoomConfig {
  /** Who the player is, for the page. */
  role: string;
  levers: WarRoomLever[];
  /** Params set for the game (e.g. the model's own deployment policy switched off: the player decides). */
  set: Record<string, number>;
  /** The outcome whose risk over the next turn is shown. */
  riskOutcome: string;
  /** Tracked variables shown each turn. */
  watch: string[];
  /** Turns in a game (calendar months). */
  turns: number;
  /** The decisions the optimiser may vary for the debrief's "optimised schedule", and its objective variable. */
  optimise?: { decisions: string[]; objective: string };
}

/** One role of a model's `warroom` section, as the game uses it. */
export function warRoomConfig(spec: ModelSpec, role: string): WarRoomConfig {
  const room = spec.warroom;
  if (!room) throw new WarRoomError("this model has no war room (a 'warroom' section declares one)");
  const r = room.roles[role];
  if (!r)
    throw new WarRoomError(
      `the war room has no role '${role}' (it has: ${Object.keys(room.roles).join(", ")})`,
    );
  return {
    role: r.label,
    levers: Object.entries(r.levers).map(([id, l]) => ({
      id,
      label: l.label,
      unit: l.unit ?? "",
      min: l.min,
      max: l.max,
      step: l.step,
      value: l.value,
      kind: l.adds_to !== undefined ? "add-to-stock" : "scale-variable",
      target: (l.adds_to ?? l.scales)!,
    })),
    set: r.set ?? {},
    riskOutcome: r.risk,
    watch: room.watch,
    turns: room.turns ?? 24,
    ...(r.optimise ? { optimise: r.optimise } : {}),
  };
}

/** A game that cannot start: no war room, an unknown role. */
export class WarRoomError extends Error {}

const DAYS_PER_MONTH = UNIT_DAYS.month!;

/** Model times at which calendar months start, on the step grid, from the start to the horizon. */
export function monthStarts(model: PreparedModel): number[] {
  const { start, dt, steps, unit } = model.loaded.time;
  const perMonth = DAYS_PER_MONTH / (UNIT_DAYS[unit ?? "month"] ?? DAYS_PER_MONTH);
  const out: number[] = [];
  for (let m = 0; ; m++) {
    const step = Math.min(steps, Math.round((m * perMonth) / dt));
    if (out.length && start + step * dt <= out[out.length - 1]!) break;
    out.push(start + step * dt);
    if (step >= steps) break;
  }
  return out;
}

/**
 * The game's model text: the levers' choices as step tables, the params of `config.set`, and optionally an
 * outcome that ends runs at `pauseAt` (used to count a history's draws up to a turn).
 */
export function warRoomModelText(
  text: string,
  config: WarRoomConfig,
  choices: Record<string, number>[],
  times: number[],
  dt: number,
  pauseAt?: number,
): string {
  const doc = parseDocument(text);
  const section = (name: string) => {
    if (!doc.has(name)) doc.set(name, doc.createNode({}));
    return doc.get(name) as YAMLMap;
  };
  const choiceAt = (lever: WarRoomLever, m: number) =>
    (choices[Math.min(m, choices.length - 1)] ?? {})[lever.id] ?? lever.value;
  for (const lever of config.levers) {
    const table = `warroom_${lever.id}`;
    const points: [number, number][] = [];
    // Every turn to the horizon has a point: the last choice is held after the game's last turn.
    for (let m = 0; m < times.length - 1; m++) {
      const t = times[m]!;
      if (lever.kind === "add-to-stock") {
        // The increment arrives within the first step of the turn, as a flow of value/dt.
        points.push([t, choiceAt(lever, m) / dt], [t + dt * 0.5, 0]);
      } else points.push([t, choiceAt(lever, m)]);
    }
    if (points.length === 1) points.push([points[0]![0] + dt, points[0]![1]]);
    section("tables").set(table, doc.createNode({ points, type: "discrete" }, { flow: true }));
    if (lever.kind === "add-to-stock") {
      const flow = `${table}_flow`;
      section("flows").set(flow, `${table}(time)`);
      const stock = section("stocks").get(lever.target, true) as YAMLMap | undefined;
      if (!stock || typeof stock !== "object" || !("get" in stock))
        throw new Error(`war room: no stock '${lever.target}' written as a map`);
      const inflows = stock.get("inflows") as { items?: unknown[] } | undefined;
      const list = inflows?.items?.map((i) => String((i as { value?: unknown }).value ?? i)) ?? [];
      stock.set("inflows", doc.createNode([...list, flow], { flow: true }));
    } else {
      const vars = section("vars");
      const node = vars.get(lever.target, true) as YAMLMap | { value: unknown } | undefined;
      if (node === undefined) throw new Error(`war room: no var '${lever.target}'`);
      if ("get" in node && typeof node.get === "function") {
        const eq = String(node.get("eq"));
        node.set("eq", `(${eq}) * ${table}(time)`);
      } else vars.set(lever.target, `(${String((node as { value: unknown }).value)}) * ${table}(time)`);
    }
  }
  for (const [name, value] of Object.entries(config.set)) {
    const node = section("params").get(name, true) as YAMLMap | undefined;
    if (node && typeof node === "object" && "set" in node) node.set("value", value);
    else section("params").set(name, value);
  }
  // Saved every step, so that the state at any turn's start can be read.
  const time = doc.get("time") as YAMLMap | undefined;
  if (time && typeof time === "object" && "set" in time && time.has("dt")) time.set("save", time.get("dt"));
  if (pauseAt !== undefined)
    section("outcomes").set("warroom_pause", doc.createNode({ when: `time >= ${pauseAt}` }, { flow: true }));
  return doc.toString({ lineWidth: 0 });
}

export interface TurnForecast {
  /** P(risk outcome before the next turn), with its 95% Wilson interval. */
  risk: { p: number; lo: number; hi: number };
  /** Probability of each end state over the rest of the horizon (and of none: still going). */
  outcomes: { name: string; p: number; lo: number; hi: number }[];
  runs: number;
}

export interface TurnState {
  turn: number;
  time: number;
  date: string;
  /** The watched variables at the start of this turn along the history. */
  values: Record<string, number>;
  /** The end state the history reached during the last turn, if any. */
  ended?: { outcome: string; date: string };
}

export interface LogEntry {
  turn: number;
  date: string;
  choice: Record<string, number>;
  risk: { p: number; lo: number; hi: number } | null;
}

/** One game: a model, a seed, the history being played, and the choices so far. */
export class WarRoomGame {
  readonly choices: Record<string, number>[] = [];
  readonly log: LogEntry[] = [];
  /** Start times of the game's turns (and of the turn after the last). */
  readonly times: number[];
  private readonly months: number[];
  private readonly base: PreparedModel;
  turn = 0;
  ended?: { outcome: string; date: string };

  readonly config: WarRoomConfig;
  readonly seed: number;
  readonly historyRun: number;

  /** A game of `role` (a role of the model's `warroom` section) along history run `history` of `seed`. */
  constructor(
    readonly file: string,
    readonly text: string,
    options: { role: string; seed: number; history: number; turns?: number },
  ) {
    // Loading checks the section: its levers, params, outcomes and watched values name what they should.
    this.base = prepareModel(file, text);
    const config = warRoomConfig(this.base.loaded.spec, options.role);
    this.config = options.turns === undefined ? config : { ...config, turns: options.turns };
    this.seed = options.seed;
    this.historyRun = options.history;
    this.months = monthStarts(this.base);
    this.times = this.months.slice(0, this.config.turns + 1);
  }

  private prepare(choices: Record<string, number>[], pauseAt?: number): PreparedModel {
    return prepareModel(this.file, this.modelText(choices, pauseAt));
  }

  dateOf(t: number): string {
    const { origin, unit } = this.base.loaded.time;
    return origin && unit ? modelTimeToDate(t, origin, unit) : String(t);
  }

  /** The history replayed with the choices made so far. */
  private replay(): { model: PreparedModel; runner: Runner; end: RunEnd } {
    const model = this.prepare(this.choices);
    const runner = new Runner(model, this.seed);
    return { model, runner, end: runner.run(this.historyRun) };
  }

  /** Where the history stands at the start of the current turn (given the choices made so far). */
  state(): TurnState {
    const { model, runner } = this.replay();
    return this.stateOf(model, runner);
  }

  /** The turn's state read from a replay of the history. */
  private stateOf(model: PreparedModel, runner: Runner): TurnState {
    const time = this.times[this.turn]!;
    const tracked = model.program.tracked.map((t) => t.name);
    const { start, dt, saveEvery } = model.loaded.time;
    // The last save at or before the turn's start.
    const k = Math.floor((time - start) / (dt * saveEvery) + 1e-9);
    const values: Record<string, number> = {};
    for (const name of this.config.watch)
      values[name] = runner.saved[k * tracked.length + tracked.indexOf(name)]!;
    return {
      turn: this.turn,
      time,
      date: this.dateOf(time),
      values,
      ...(this.ended ? { ended: this.ended } : {}),
    };
  }

  /** Draws each random site has made along the history up to `time`, by site name. */
  private prefixAt(choices: Record<string, number>[], time: number): Map<string, number> {
    const model = this.prepare(choices, time);
    const streams = new CountingStreams(model.program.randomSites);
    streams.reset(this.seed, this.historyRun);
    new Runner(model, this.seed).runWithStreams(this.historyRun, streams);
    return new Map(model.program.randomSites.map((name, i) => [name, streams.counts[i]!]));
  }

  /** The model's estimate from the current state, if the player chooses `choice` now and keeps it. */
  forecast(choice: Record<string, number>, runs: number): TurnForecast {
    const choices = [...this.choices, choice];
    const time = this.times[this.turn]!;
    const next = this.times[this.turn + 1] ?? Number.POSITIVE_INFINITY;
    const model = this.prepare(choices);
    const counts = this.prefixAt(choices, time);
    const prefix = Uint32Array.from(model.program.randomSites, (name) => counts.get(name) ?? 0);
    const streams = new BranchStreams(model.program.randomSites);
    const runner = new Runner(model, this.seed);
    const outcomes = model.program.outcomes.map((o) => o.name);
    const ends = new Array<number>(outcomes.length + 1).fill(0);
    const riskIndex = outcomes.indexOf(this.config.riskOutcome);
    let risk = 0;
    let counted = 0;
    for (let c = 0; c < runs; c++) {
      // Branch runs use indices far from any job's own, so they never reuse a history's streams.
      streams.position(this.seed, this.historyRun, prefix, 0x40000000 + c);
      const end = runner.runWithStreams(this.historyRun, streams);
      // A branch that ended before the turn retraced the history's own end; it is not a forecast.
      if (end.outcome >= 0 && end.time < time) continue;
      counted++;
      ends[end.outcome >= 0 ? end.outcome : outcomes.length]!++;
      if (end.outcome === riskIndex && end.time <= next) risk++;
    }
    return {
      risk: wilson(risk, counted),
      outcomes: [...outcomes, "still going at the horizon"].map((name, i) => ({
        name,
        ...wilson(ends[i]!, counted),
      })),
      runs: counted,
    };
  }

  /** Make this turn's choice and move one turn along the history. */
  advance(choice: Record<string, number>, risk: TurnForecast["risk"] | null): TurnState {
    if (this.ended || this.turn >= this.config.turns) throw new Error("the game is over");
    this.log.push({ turn: this.turn, date: this.dateOf(this.times[this.turn]!), choice, risk });
    this.choices.push(choice);
    const { model, runner, end } = this.replay();
    const next = this.times[this.turn + 1]!;
    if (end.outcome >= 0 && end.time <= next)
      this.ended = { outcome: model.program.outcomes[end.outcome]!.name, date: this.dateOf(end.time) };
    this.turn++;
    // The same replay holds the next turn's state: the choices up to it are all made.
    return this.stateOf(model, runner);
  }

  get over(): boolean {
    return this.ended !== undefined || this.turn >= this.config.turns;
  }

  /** The game's model with the given choices (the last held to the horizon); the debrief runs it from the start. */
  modelText(choices: Record<string, number>[] = this.choices, pauseAt?: number): string {
    return warRoomModelText(
      this.text,
      this.config,
      choices.length ? choices : [{}],
      this.months,
      this.base.loaded.time.dt,
      pauseAt,
    );
  }
}
