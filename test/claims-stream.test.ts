import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { compileClaims } from "../src/analysis/check.js";
import type { ClaimAtom, ClaimExpr, CompiledClaim } from "../src/analysis/claims.js";
import {
  type ClaimResult,
  evaluateClaimWithRecords,
  needsRecords,
  needsRunValues,
  type ScenarioRecords,
} from "../src/analysis/claims.js";
import { ClaimStatistics, type ScenarioLayout } from "../src/analysis/claims-stream.js";
import { jobMeta, runChunk } from "../src/engine/montecarlo.js";
import { prepareModel } from "../src/engine/prepare.js";
import { type Probe, RunRecords } from "../src/engine/records.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { BIN, scratchDir } from "./cli-helpers.js";
import { ROOT } from "./helpers.js";

afterAll(() => closeWorkers());

/** Synthetic runs of one scenario: outcomes 0, 1 or censored, end steps, and tracked values (NaN once ended). */
const TRACKED = 2;
const SAVES = 3;
const PROBES: Probe[] = Array.from({ length: TRACKED * SAVES }, (_, i) => ({
  tracked: i % TRACKED,
  save: Math.floor(i / TRACKED),
}));

interface Run {
  outcome: number;
  step: number;
  saves: number;
  values: number[];
}

const runArb = fc.record({
  outcome: fc.integer({ min: -1, max: 1 }),
  step: fc.integer({ min: 0, max: 10 }),
  saves: fc.integer({ min: 1, max: SAVES }),
  values: fc.array(fc.double({ min: -100, max: 100, noNaN: true }), {
    minLength: TRACKED * SAVES,
    maxLength: TRACKED * SAVES,
  }),
});

function recordsOf(runs: Run[]): RunRecords {
  const records = new RunRecords(0, runs.length, PROBES, TRACKED);
  runs.forEach((r, i) => {
    records.record(
      i,
      { outcome: r.outcome, time: r.step, timeIndex: r.step, saves: r.saves },
      Float64Array.from(r.values),
    );
  });
  return records;
}

const layout: ScenarioLayout = {
  outcomes: ["a", "b"],
  probe: (tracked, save) => PROBES.findIndex((p) => p.tracked === tracked && p.save === save),
};
const scenarioRecords = (records: RunRecords): ScenarioRecords => ({ records, ...layout });

/** A term about scenario null (the one being run) or "other", whose runs share the same indices. */
const scenarioArb = fc.constantFrom<string | null>(null, "other");
const atomArb: fc.Arbitrary<ClaimAtom> = fc.oneof(
  fc.record({
    kind: fc.constant("P" as const),
    scenario: scenarioArb,
    outcome: fc.constantFrom("a", "b", "censored"),
    outcomeIndex: fc.constant(-1),
    byStep: fc.integer({ min: 0, max: 10 }),
  }),
  fc.record({
    kind: fc.constant("E" as const),
    scenario: scenarioArb,
    variable: fc.constant("x"),
    tracked: fc.integer({ min: 0, max: TRACKED - 1 }),
    save: fc.integer({ min: 0, max: SAVES - 1 }),
  }),
  fc.record({
    kind: fc.constant("L" as const),
    scenario: scenarioArb,
    variable: fc.constant("x"),
    tracked: fc.integer({ min: 0, max: TRACKED - 1 }),
    save: fc.integer({ min: 0, max: SAVES - 1 }),
    op: fc.constantFrom(">" as const, ">=" as const, "<" as const, "<=" as const),
    threshold: fc.double({ min: -100, max: 100, noNaN: true }),
  }),
);
const quantileArb = fc.record({
  kind: fc.constant("Q" as const),
  scenario: scenarioArb,
  variable: fc.constant("x"),
  tracked: fc.integer({ min: 0, max: TRACKED - 1 }),
  save: fc.integer({ min: 0, max: SAVES - 1 }),
  q: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
});
const opArb = fc.constantFrom(
  "<" as const,
  "<=" as const,
  ">" as const,
  ">=" as const,
  "==" as const,
  "!=" as const,
);
const constArb = fc
  .double({ min: -50, max: 50, noNaN: true })
  .map((value): ClaimExpr => ({ kind: "const", value }));

/** A random expression over atoms 0 … atoms − 1 (each used once), combined with + − × ÷ and constants. */
function exprArb(first: number, atoms: number): fc.Arbitrary<ClaimExpr> {
  if (atoms === 1) {
    const atom: ClaimExpr = { kind: "atom", index: first };
    return fc.oneof(
      fc.constant(atom),
      fc.constant<ClaimExpr>({ kind: "neg", a: atom }),
      fc
        .tuple(fc.constantFrom("+" as const, "-" as const, "*" as const), constArb)
        .map(([op, b]): ClaimExpr => ({ kind: "bin", op, a: atom, b })),
    );
  }
  return fc
    .tuple(
      fc.constantFrom("+" as const, "-" as const, "*" as const, "/" as const),
      exprArb(first, 1),
      exprArb(first + 1, atoms - 1),
    )
    .map(([op, a, b]): ClaimExpr => ({ kind: "bin", op, a, b }));
}

/** Claims evaluated from running statistics: means of P, E and level terms, or a lone Q against a number. */
const claimArb: fc.Arbitrary<CompiledClaim> = fc.oneof(
  fc
    .integer({ min: 1, max: 3 })
    .chain((n) =>
      fc.tuple(
        fc.array(atomArb, { minLength: n, maxLength: n }),
        exprArb(0, n),
        opArb,
        fc.boolean(),
        constArb,
      ),
    )
    .map(([atoms, expr, op, split, c]) => {
      // Either every term on the left against a number, or the first term against the rest.
      const left = split && expr.kind === "bin" && atoms.length > 1 ? expr.a : expr;
      const right = split && expr.kind === "bin" && atoms.length > 1 ? expr.b : c;
      return { id: "random", check: "(generated)", op, left, right, atoms };
    }),
  fc.tuple(quantileArb, constArb, opArb, fc.boolean()).map(([atom, c, op, qLeft]) => {
    const q: ClaimExpr = { kind: "atom", index: 0 };
    return {
      id: "random",
      check: "(generated)",
      op,
      left: qLeft ? q : c,
      right: qLeft ? c : q,
      atoms: [atom],
    } satisfies CompiledClaim;
  }),
);

/** The same numbers, up to the rounding error of the sums the records were added up with. */
function expectSameResult(streamed: ClaimResult, recorded: ClaimResult, scale: number) {
  expect(streamed.verdict).toBe(recorded.verdict);
  expect(streamed.note).toBe(recorded.note);
  for (const key of ["p", "lo", "hi"] as const) {
    const a = streamed[key]!;
    const b = recorded[key]!;
    if (!Number.isFinite(b)) expect(Number.isFinite(a), key).toBe(false);
    else
      expect(Math.abs(a - b), `${key}: ${a} vs ${b}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, scale, Math.abs(b)),
      );
  }
}

/** Fold runs into statistics in the given chunks (lengths), returning them. */
function streamed(
  claim: CompiledClaim,
  own: RunRecords,
  other: RunRecords,
  chunks: number[],
): ClaimStatistics {
  const stats = new ClaimStatistics([claim], () => layout);
  let a = 0;
  for (const len of chunks) {
    const b = Math.min(own.count, a + len);
    const part = (r: RunRecords) => ({
      outcome: r.outcome.subarray(a, b),
      step: r.step.subarray(a, b),
      values: r.values.map((v) => v.subarray(a, b)),
    });
    stats.addChunk(a, b - a, (s) => part(s === null ? own : other));
    a = b;
    if (a >= own.count) break;
  }
  if (a < own.count) throw new Error("chunks do not cover the runs");
  return stats;
}

describe("claims from running statistics", () => {
  it("give the verdicts and intervals of per-run records, for random claims and runs, whatever the chunks", () => {
    fc.assert(
      fc.property(
        claimArb,
        fc.array(fc.tuple(runArb, runArb), { minLength: 1, maxLength: 120 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        (claim, pairs, chunks) => {
          const own = recordsOf(pairs.map((p) => p[0]));
          const other = recordsOf(pairs.map((p) => p[1]));
          const recorded = evaluateClaimWithRecords(claim, (s) => scenarioRecords(s === null ? own : other));
          const covering = [...chunks, pairs.length];
          const stats = streamed(claim, own, other, covering);
          // Scale of the numbers the margin is made of: values up to 100, products of two terms up to 10⁴.
          expectSameResult(stats.result(claim), recorded, 1e4);
          // Chunked differently (one chunk), the statistics are the same to the last bit.
          const whole = streamed(claim, own, other, [pairs.length]);
          expect(whole.state()).toEqual(stats.state());
          expect(whole.result(claim)).toEqual(stats.result(claim));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("hold a fixed amount of memory whatever the runs (a quantile's sketch: a bounded one)", () => {
    const parse = (check: string, atoms: ClaimAtom[], left: ClaimExpr, right: ClaimExpr): CompiledClaim => ({
      id: check,
      check,
      op: ">",
      left,
      right,
      atoms,
    });
    const a0: ClaimExpr = { kind: "atom", index: 0 };
    const a1: ClaimExpr = { kind: "atom", index: 1 };
    const e = (scenario: string | null): ClaimAtom => ({
      kind: "E",
      scenario,
      variable: "x",
      tracked: 0,
      save: 1,
    });
    const p = (scenario: string | null): ClaimAtom => ({
      kind: "P",
      scenario,
      outcome: "a",
      outcomeIndex: 0,
      byStep: 10,
    });
    const means = [
      parse("E(x | other) > E(x)", [e("other"), e(null)], a0, a1),
      parse("P(a | other) > P(a)", [p("other"), p(null)], a0, a1),
      parse("E(x) > P(a)", [e(null), p(null)], a0, a1),
    ];
    const quantile = parse(
      "Q50(x) > 1",
      [{ kind: "Q", scenario: null, variable: "x", tracked: 0, save: 1, q: 0.5 }],
      a0,
      { kind: "const", value: 1 },
    );
    /** State of statistics fed `runs` synthetic runs, in chunks of 1,000. */
    const stateAfter = (claims: CompiledClaim[], runs: number) => {
      const stats = new ClaimStatistics(claims, () => layout);
      const chunk = 1000;
      const outcome = new Int32Array(chunk);
      const step = new Int32Array(chunk);
      const values = PROBES.map(() => new Float64Array(chunk));
      for (let a = 0; a < runs; a += chunk) {
        for (let i = 0; i < chunk; i++) {
          const run = a + i;
          outcome[i] = ((run * 7) % 3) - 1;
          step[i] = run % 11;
          for (const v of values) v[i] = Math.sin(run) * 100 + (run % 13) / 7;
        }
        stats.addChunk(a, chunk, () => ({ outcome, step, values }));
      }
      return stats.state().length;
    };
    // Sums of values and of their products: the same size at 1,000 and 100,000 runs, give or take a partial
    // of an exact sum (at most 4 in the typed-array slots they start in).
    const sums = means.reduce(
      (n, c) => n + 2 * c.atoms.length + (2 * c.atoms.length * (2 * c.atoms.length + 1)) / 2,
      0,
    );
    const small = stateAfter(means, 1e3);
    const large = stateAfter(means, 1e5);
    expect(large).toBeLessThanOrEqual(small + 3 * sums);
    expect(large).toBeLessThan(4 * sums * 2);
    // A quantile's sketch keeps at most two leaves and one node per level: far less than the runs at 10⁶.
    const q5 = stateAfter([quantile], 5e5);
    const q10 = stateAfter([quantile], 1e6);
    expect(q10).toBeLessThan(3.2e5);
    expect(q10).toBeLessThan(q5 + 5e4);
  });
});

describe("claims of the flagship", () => {
  it("streamed through worker chunks equal the record-based verdicts and intervals", async () => {
    const file = `${ROOT}/models/flagship/flagship.yaml`;
    const text = readFileSync(file, "utf8");
    const runs = 160;
    const seed = 11;
    const { report } = await simulate({ file, text }, { runs, seed, workers: 2, chunkSize: 37 });
    // The reference: every scenario the claims name run whole on this thread with per-run records.
    const model = prepareModel(file, text);
    const claims = compileClaims(model.loaded).filter(needsRecords);
    expect(claims.length).toBeGreaterThanOrEqual(4);
    expect(claims.some(needsRunValues)).toBe(false);
    const trackedNames = model.program.tracked.map((t) => t.name);
    const probes: Probe[] = [];
    for (const c of claims)
      for (const atom of c.atoms)
        if (atom.kind !== "P" && !probes.some((p) => p.tracked === atom.tracked && p.save === atom.save))
          probes.push({ tracked: atom.tracked, save: atom.save });
    const reference = new Map<string, ScenarioRecords>();
    const recordsFor = (scenario: string | null): ScenarioRecords => {
      const key = scenario ?? "base";
      let sr = reference.get(key);
      if (!sr) {
        const prepared = prepareModel(
          file,
          text,
          scenario === null || scenario === "base" ? {} : { scenario },
        );
        const meta = jobMeta(prepared, text, seed, { kind: "random" });
        const records = new RunRecords(0, runs, probes, prepared.program.tracked.length);
        runChunk(prepared, { meta, start: 0, end: runs, records });
        sr = {
          records,
          outcomes: prepared.program.outcomes.map((o) => o.name),
          probe: (tracked, save) =>
            probes.findIndex((p) => trackedNames[p.tracked] === trackedNames[tracked] && p.save === save),
        };
        reference.set(key, sr);
      }
      return sr;
    };
    for (const claim of claims) {
      const got = report.claims.find((c) => c.id === claim.id)!;
      const want = evaluateClaimWithRecords(claim, recordsFor);
      const round = (x: number | null) =>
        x === null || !Number.isFinite(x) ? null : Number(x.toPrecision(12));
      expect(got.verdict, claim.id).toBe(want.verdict);
      for (const key of ["p", "lo", "hi"] as const) {
        const w = round(want[key]);
        if (w === null) expect(got[key], claim.id).toBeNull();
        else
          expect(Math.abs(got[key]! - w), `${claim.id} ${key}`).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(w)),
          );
      }
    }
  });
});

/** Two hazards and a growing level; `riskier` doubles the first hazard. */
const HAZARDS = `brink: 1
name: hazards
time: { start: 0, stop: 20, dt: 0.5 }
params:
  a_rate: 0.05
  b_rate: 0.03
stocks:
  level: { init: 10, inflows: [growth] }
flows:
  growth: uniform(0, 1)
outcomes:
  a: { rate: a_rate }
  b: { rate: b_rate }
track: [level]
claims:
  - { id: paired, check: "P(a) < P(a | scenario = riskier)" }
  - { id: mean-level, check: E(level at 10) > 14 }
  - { id: median-level, check: "Q50(level at 10) < 16" }
scenarios:
  riskier: { params: { a_rate: 0.1 } }
`;

describe("a billion runs with claims from the command line", () => {
  const dir = scratchDir("claims-stream");

  it("start without an up-front refusal and stop on Ctrl-C with a partial report", async () => {
    const file = join(dir, "hazards.yaml");
    writeFileSync(file, HAZARDS);
    const child = spawn(
      process.execPath,
      [BIN, "run", file, "--runs", "1000000000", "--workers", "2", "--json", "--progress"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (/ [1-9][\d,]*\/1000000000 .*runs\/s/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(130);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(true);
    expect(report.runs).toBeGreaterThan(0);
    // Claims are evaluated on whole jobs only: a stopped one leaves them undecided.
    expect(report.claims.map((c: ClaimResult) => c.verdict)).toEqual(["undecided", "undecided", "undecided"]);
  });
});
