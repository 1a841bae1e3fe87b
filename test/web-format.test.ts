import { describe, expect, it } from "vitest";
import type { RunReport } from "../src/analysis/results.js";
import type { SensitivityReport } from "../src/analysis/sensitivity-job.js";
import { formatReport, formatSensitivity } from "../src/node/format.js";
import { incidenceChart } from "../src/report/charts.js";
import {
  estimateKind,
  percent,
  points,
  quantity,
  STILL_GOING,
  towardClaim,
  withInterval,
} from "../src/report/format.js";
import { renderHtml } from "../src/report/html.js";
import { claimsSection, endStatesSection, sensitivitySection } from "../src/report/sections.js";
import { claimsPanel, outcomesPanel } from "../src/web/panels/results.js";

/** How numbers and names read in the CLI's text, the HTML report and the app (one vocabulary, one format). */

/** A run report with the raw floats a real job gives (Wilson bounds, means), undated, in weeks. */
function report(): RunReport {
  return {
    model: "m",
    scenario: null,
    runs: 12_000,
    seed: 1,
    sampling: "random",
    partial: false,
    time: { start: 0, stop: 260, dt: 1, unit: "week", origin: null },
    outcomes: {
      collapse: { count: 1199, p: 0.0999221432165, lo: 0.0946, hi: 0.10546028533967, median_time: 104.5 },
      rare: { count: 65, p: 0.00546028533967, lo: 0.0043, hi: 0.00697, median_time: 12 },
    },
    censored: { count: 10_736, p: 0.8946, lo: 0.889, hi: 0.9, median_time: null } as RunReport["censored"],
    tracked: {},
    claims: [
      {
        id: "likely",
        check: "P(collapse) > 0.5",
        verdict: "fails",
        p: 0.0999221432165,
        lo: 0.0946,
        hi: 0.1054,
      },
      { id: "order", check: "P(collapse) > P(rare)", verdict: "holds", p: 0.0944, lo: 0.088, hi: 0.1 },
      { id: "troops", check: "E(troops at 156) > 1000", verdict: "holds", p: 1220.4, lo: 998.2, hi: 1450.7 },
      {
        id: "fear",
        check: "E(fear at 104) < E(fear at 0)",
        verdict: "fails",
        p: 0.00449,
        lo: 0.0022,
        hi: 0.0068,
      },
      { id: "tail", check: "P(troops at 156 > 5000) < 0.1", verdict: "holds", p: 0.031, lo: 0.02, hi: 0.04 },
    ],
    incidence: [],
  } as RunReport;
}

describe("numbers for their meaning", () => {
  it("percentages with sensible digits, counts with separators, quantities without exponents", () => {
    expect(percent(0.0999221432165)).toBe("10.0%");
    expect(percent(0.00546028533967)).toBe("0.55%");
    expect(percent(0.8946)).toBe("89.5%");
    expect(percent(0)).toBe("0%");
    expect(points(-0.0049)).toBe("−0.5 pt");
    expect(points(0.044)).toBe("+4.4 pt");
    expect(quantity(1220.4)).toBe("1,220");
    expect(quantity(2_090_123)).toBe("2,090,000");
    expect(quantity(0.0546123)).toBe("0.0546");
    expect(quantity(1)).toBe("1");
    expect(withInterval(quantity, 1220.4, 998.2, 1450.7)).toBe("1,220 [998 – 1,450]");
  });

  it("a claim's estimate says what it is: a probability, a difference, a mean", () => {
    expect(estimateKind("P(a) > 0.5")).toBe("probability");
    expect(estimateKind("P(a) > P(b | scenario = s)")).toBe("difference of probabilities");
    expect(estimateKind("E(x at 3) > 1000")).toBe("mean");
    expect(estimateKind("E(x at 3) < E(x at 0)")).toBe("difference");
    // The comparison inside a term is not the claim's.
    expect(estimateKind("P(x at 3 > 5) < 0.1")).toBe("probability");
    expect(estimateKind("Q(x, 0.9 at 3) <= 7")).toBe("quantile");
  });

  it("what would have to be true: one sign convention (toward the claim), and rounding noise is no verdict", () => {
    expect(towardClaim("P(a) < P(b)", -5.3e-18)).toEqual({ toward: 0, side: "tie" });
    expect(towardClaim("P(a) < P(b)", -0.1)).toEqual({ toward: 0.1, side: "holds" });
    expect(towardClaim("P(a) > P(b)", -0.1)).toEqual({ toward: -0.1, side: "fails" });
    expect(towardClaim("P(a) > 0.5", 0.2)).toEqual({ toward: 0.2, side: "holds" });
  });
});

describe("the CLI's text", () => {
  it("writes troop counts, undated median times with their unit, and the one name of no outcome", () => {
    const text = formatReport(report());
    expect(text).toContain(STILL_GOING);
    expect(text).toContain("10,736");
    expect(text).toMatch(/collapse\s+1,199\s+10\.0%\s+9\.5% – 10\.5%\s+105 week/);
    expect(text).toMatch(/troops\s+holds\s+mean\s+1,220 \[998 – 1,450\]/);
    expect(text).toMatch(/order\s+holds\s+difference of probabilities\s+\+9\.4 pt/);
    // No raw floats (four or more significant digits after the point) and no exponents.
    expect(text).not.toMatch(/e[+-]\d|\.\d*[1-9]\d{3,}/);
  });

  it("what would have to be true never flips on rounding noise and reads toward the claim", () => {
    const sens = {
      model: "m",
      scenario: null,
      method: "sobol",
      inputs: ["k"],
      evaluations: 10,
      runs: 10,
      targets: [],
      whatWouldHaveToBeTrue: [
        {
          claim: "safer",
          check: "P(a) < P(a | scenario = s)",
          params: [
            {
              param: "k",
              total: 0.5,
              bins: [
                { from: 0, to: 1, margin: -5.3e-18, holds: true },
                { from: 1, to: 2, margin: -0.02, holds: true },
                { from: 2, to: 3, margin: 0.03, holds: false },
              ],
            },
          ],
        },
      ],
    } as unknown as SensitivityReport;
    const text = formatSensitivity(sens, 5);
    expect(text).toContain("[0, 1] even (0); [1, 2] holds (+0.02); [2, 3] fails (-0.03)");
    expect(text).not.toContain("e-18");
  });
});

describe("the HTML report and the app", () => {
  it("report tables show formatted numbers (no raw floats), undated median times with a unit, kinds of estimate", async () => {
    const page = renderHtml({
      title: "m",
      subtitle: "",
      sections: [await endStatesSection(report()), claimsSection(report())],
      metadata: {},
    });
    const cells = [...page.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!);
    expect(cells.filter((c) => /\.\d*[1-9]\d{3,}|e[+-]\d/.test(c))).toEqual([]);
    expect(cells).toContain("10.0%");
    expect(cells).toContain("0.55%");
    expect(cells).toContain("1,220");
    expect(cells).toContain("+9.4 pt");
    expect(cells).toContain(STILL_GOING);
    expect(page).toContain("median time (week)");
    for (const kind of ["probability", "difference of probabilities", "mean", "difference"])
      expect(cells).toContain(kind);
    // Each table scrolls in its own box.
    expect(page.match(/<div class="scroll"/g)?.length).toBe(2);
    // The reader meets "interval" and "paired" with a sentence on what they mean.
    expect(page).toMatch(/95% interval[^.]*covers the true/);
  });

  it("the app's tables use the same name and formats", () => {
    const r = report();
    const outcomes = outcomesPanel(r, undefined).value;
    expect(outcomes).toContain(`<th scope="row">${STILL_GOING}</th>`);
    expect(outcomes).toContain("105 week");
    const claims = claimsPanel(r).value;
    expect(claims).toContain("1,220 [998 – 1,450]");
    expect(claims).toContain("10.0% [9.5% – 10.5%]");
  });

  it("the sensitivity section leaves out charts of results too rare to carry information, and says so", async () => {
    const index = (input: string, total: number, totalLo: number) => ({
      input,
      total,
      totalLo,
      totalHi: total + 0.1,
      first: total / 2,
      firstLo: 0,
      firstHi: total,
    });
    const sens = {
      model: "m",
      scenario: null,
      method: "sobol",
      inputs: ["a", "b"],
      evaluations: 64,
      runs: 64,
      targets: [
        { target: "P(collapse)", sobol: [index("a", 0.6, 0.4), index("b", 0.1, 0)] },
        { target: "P(rare)", sobol: [index("a", 0.02, 0), index("b", 0.02, 0)] },
      ],
      whatWouldHaveToBeTrue: [],
    } as unknown as SensitivityReport;
    const section = await sensitivitySection(sens, 16);
    expect(section.charts.map((c) => c.id)).toEqual(["chart-tornado-P-collapse"]);
    expect(section.intro).toContain("Left out, with no chart: P(rare)");
    expect(section.tables.find((t) => t.id === "sobol-P-collapse")?.collapsed).toBe(true);
  });

  it("the incidence chart's legend is its lines' and its axis is in %", () => {
    type Channel = { legend?: { symbolType?: string } | null; axis?: { format?: string } };
    const spec = incidenceChart(report()) as unknown as {
      layer: { mark: { type: string }; encoding: Record<string, Channel | undefined> }[];
    };
    const [band, line] = spec.layer;
    expect(band!.encoding.color!.legend).toBeNull();
    expect(line!.mark.type).toBe("line");
    expect(line!.encoding.color!.legend?.symbolType).toBe("stroke");
    expect(band!.encoding.y!.axis?.format).toBe("%");
  });
});
