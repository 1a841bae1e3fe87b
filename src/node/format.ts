import type { RunReport } from "../analysis/results.js";
import type { SensitivityReport } from "../analysis/sensitivity-job.js";
import {
  count,
  endStateName,
  estimateKind,
  estimateText,
  grouped,
  modelTime,
  percent,
  points,
  quantity,
  STILL_GOING,
  towardClaim,
  withInterval,
} from "../report/format.js";
import type { Comparison } from "./compare.js";
import type { OptimizeResult } from "./optimize.js";

/**
 * A plain text table: the first column and those marked "l" in `align` (one letter per column) left-aligned,
 * the rest (numbers) right-aligned.
 */
export function table(header: string[], rows: string[][], align = ""): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || align[i] === "l" ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const pct = percent;
const num = (x: number | null) => quantity(x);

/** The readable form of a run report (what `brink run` prints without --json). */
export function formatReport(r: RunReport): string {
  const out: string[] = [];
  const scenario = r.scenario ? `, scenario ${r.scenario}` : "";
  const sampling = r.sampling === "lhs" ? ", Latin hypercube" : "";
  const partial = r.partial ? " (PARTIAL: stopped early)" : "";
  out.push(`${r.model}${scenario}: ${grouped(r.runs)} runs, seed ${r.seed}${sampling}${partial}`);
  out.push("");
  const rows = Object.entries(r.outcomes).map(([name, o]) => [
    name,
    count(o.count),
    pct(o.p),
    `${pct(o.lo)} – ${pct(o.hi)}`,
    modelTime(o.median_time, r.time.unit, o.median_date),
  ]);
  rows.push([
    STILL_GOING,
    count(r.censored.count),
    pct(r.censored.p),
    `${pct(r.censored.lo)} – ${pct(r.censored.hi)}`,
    "",
  ]);
  out.push(table(["end state", "runs", "p", "95% interval", "median time"], rows));
  out.push(
    "95% interval (Wilson): covers the true probability in 95 of 100 such jobs; median time: among the runs that ended that way.",
  );
  const tracked = Object.entries(r.tracked);
  if (tracked.length) {
    out.push("");
    const last = (points: RunReport["tracked"][string]) => [...points].reverse().find((p) => p.n > 0);
    const horizon = tracked[0]![1][tracked[0]![1].length - 1];
    out.push(
      `tracked values at the horizon (${horizon?.date ?? modelTime(horizon?.t ?? null, r.time.unit)}), over the runs still going then; else at the last time any run was:`,
    );
    out.push(
      table(
        ["variable", "at", "runs", "median", "5% – 95%"],
        tracked.map(([name, points]) => {
          const p = last(points);
          if (!p) return [name, "–", "0", "–", "–"];
          // Every run at the same value (a stock pinned at 1): that value, not the quantile sketch's ±0.5%.
          const same = p.sd !== null && p.mean !== null && p.sd <= 1e-12 * Math.max(1, Math.abs(p.mean));
          const q = (x: number | null) => num(same ? p.mean : x);
          return [
            name,
            p.date ?? modelTime(p.t, r.time.unit),
            count(p.n),
            q(p.q50),
            `${q(p.q05)} – ${q(p.q95)}`,
          ];
        }),
      ),
    );
  }
  if (r.claims.length) {
    out.push("");
    out.push(
      table(
        ["claim", "verdict", "estimate of", "estimate [95% interval]", "check"],
        r.claims.map((c) => {
          const kind = estimateKind(c.check);
          const f = (x: number | null) => estimateText(kind, x);
          return [c.id, c.verdict, kind, withInterval(f, c.p, c.lo, c.hi), c.check];
        }),
        "lllrl",
      ),
    );
    out.push(
      "estimate: the left side when the right is a number, else left − right; a verdict is holds or fails only when the whole 95% interval is on one side.",
    );
  }
  return out.join("\n");
}

export function formatSensitivity(r: SensitivityReport, top: number): string {
  const out: string[] = [];
  out.push(
    `${r.model}${r.scenario ? `, scenario ${r.scenario}` : ""}: ${r.method === "sobol" ? `Sobol indices (Saltelli design on a Sobol' sequence, Jansen estimators, 95% jackknife intervals over ${r.batches ?? 1} shifted batches)` : "Morris screening"} over ${r.inputs.length} uncertain params, ${r.runs.toLocaleString("en")} runs`,
  );
  for (const t of r.targets) {
    out.push("", `${t.target}`);
    if (t.sobol) {
      out.push(
        table(
          ["param", "total effect", "95% interval", "first order", "95% interval", ""],
          t.sobol
            .slice(0, top)
            .map((s) => [
              s.input,
              num(s.total),
              `${num(s.totalLo)} – ${num(s.totalHi)}`,
              num(s.first),
              `${num(s.firstLo)} – ${num(s.firstHi)}`,
              "█".repeat(Math.max(0, Math.min(40, Math.round(40 * s.total)))),
            ]),
        ),
      );
    } else if (t.morris) {
      out.push(
        table(
          ["param", "μ*", "σ"],
          t.morris.slice(0, top).map((m) => [m.input, num(m.muStar), num(m.sigma)]),
        ),
      );
    }
  }
  for (const w of r.whatWouldHaveToBeTrue) {
    out.push(
      "",
      `what would have to be true for ${w.claim} (${w.check}) — mean margin toward the claim (+: its side) by fifths of its most influential params:`,
    );
    for (const p of w.params) {
      out.push(
        `  ${p.param}: ${p.bins
          .map((b) => {
            const { toward, side } = towardClaim(w.check, b.margin);
            const signed = toward > 0 ? `+${num(toward)}` : num(toward);
            return `[${num(b.from)}, ${num(b.to)}] ${side === "tie" ? "even" : side} (${signed})`;
          })
          .join("; ")}`,
      );
    }
  }
  return out.join("\n");
}

export function formatComparison(c: Comparison): string {
  const out: string[] = [
    `${c.model}: ${c.runs.toLocaleString("en")} runs per scenario, seed ${c.seed} (common random numbers)`,
    "",
  ];
  const outcomes = Object.keys(c.reports[c.scenarios[0]!]!.outcomes);
  out.push(
    table(
      ["end state", ...c.scenarios],
      [...outcomes, "censored"].map((o) => [
        endStateName(o),
        ...c.scenarios.map((s) => {
          const row = o === "censored" ? c.reports[s]!.censored : c.reports[s]!.outcomes[o];
          return row ? `${pct(row.p)} [${pct(row.lo)}, ${pct(row.hi)}]` : "–";
        }),
      ]),
    ),
  );
  if (c.differences.length) {
    out.push(
      "",
      `paired differences from ${c.scenarios[0]} in percentage points (95% interval) — paired: each run compared with itself under the other scenario, so shared chance cancels:`,
    );
    out.push(
      table(
        ["end state", "scenario", "difference", "95% interval"],
        c.differences.map((d) => [
          endStateName(d.outcome),
          d.scenario,
          points(d.difference),
          d.lo === null ? "–" : `${points(d.lo)} – ${points(d.hi)}`,
        ]),
      ),
    );
  }
  return out.join("\n");
}

export function formatOptimization(r: OptimizeResult): string {
  const out: string[] = [];
  out.push(`${r.model}: maximise ${r.maximize} subject to ${r.subjectTo.join(" and ")} (95% confidence)`);
  out.push(
    `${r.evaluations} candidates × ${r.runs.toLocaleString("en")} runs each, seed ${r.seed}, common random numbers`,
  );
  out.push("", r.feasible ? "FEASIBLE" : "INFEASIBLE", r.message, "");
  const chosen = r.best ?? r.closest;
  out.push(
    table(
      ["decision", "value"],
      Object.entries(chosen.values).map(([k, v]) => [k, String(v)]),
    ),
  );
  out.push("", formatReport(r.report));
  if (r.frontier.length) {
    out.push(
      "",
      `frontier: best objective as the bound on ${r.subjectTo[0]!.replace(/\s*(<=|>=).*$/, "")} varies`,
    );
    out.push(
      table(
        ["bound", "feasible", "objective", "95% interval", "decisions"],
        r.frontier.map((f) => [
          num(f.bound),
          f.feasible ? "yes" : `no (missed by ${num(f.closestViolation)})`,
          num(f.objective),
          f.objectiveLo === null ? "–" : `${num(f.objectiveLo)} – ${num(f.objectiveHi)}`,
          f.decisions
            ? Object.entries(f.decisions)
                .map(([k, v]) => `${k}=${num(v)}`)
                .join(" ")
            : "–",
        ]),
      ),
    );
  }
  return out.join("\n");
}
