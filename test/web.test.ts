import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from "lz-string";
import { describe, expect, it } from "vitest";
import type { RunReport } from "../src/analysis/results.js";
import type { SimulateOptions, SimulationResult } from "../src/analysis/simulate.js";
import { loadModel } from "../src/model/load.js";
import { renderHtml } from "../src/report/html.js";
import { compareTable, runComparison } from "../src/web/compare.js";
import { modelHash, outcomesCsv, reportHtml } from "../src/web/downloads.js";
import { moved, pct, sliderStep } from "../src/web/format.js";
import { html, SafeHtml } from "../src/web/html.js";
import { decompressLinkText } from "../src/web/lz.js";
import { controlValue, paramsPanel, pinValue, restoreDist, setValue } from "../src/web/panels/params.js";
import { claimsPanel, outcomesPanel } from "../src/web/panels/results.js";
import { Runs } from "../src/web/run.js";
import { readShareLink, SHARE_LIMITS, type Shared, shareLink } from "../src/web/share.js";
import { newState, openFile, recordRun, runSettings } from "../src/web/state.js";
import { ROOT } from "./helpers.js";
import { hostile, hostileNamesModel, hostileRunnableModel, markupTags } from "./hostile-names.js";

/** The browser app's DOM-free parts, in Node: markup, share links, panels, state, run orchestration. */

const HOSTILE = hostile("unit");

/** A run report with the given outcome names, claim texts and scenario; numbers are placeholders. */
function fakeReport(outcomes: string[], claims: string[], scenario: string | null = null): RunReport {
  const o = { count: 1, p: 0.25, lo: 0.2, hi: 0.3, median_time: 3 };
  return {
    model: HOSTILE[0]!,
    scenario,
    runs: 100,
    seed: 1,
    sampling: "random",
    partial: false,
    time: { start: 0, stop: 10, unit: "year" },
    outcomes: Object.fromEntries(outcomes.map((n) => [n, o])),
    censored: { count: 1, p: 0.5, lo: 0.4, hi: 0.6 },
    tracked: {},
    claims: claims.map((text, i) => ({
      id: `c${i}`,
      text,
      check: `P(${text}) > 0`,
      verdict: "holds",
      p: 0.5,
      lo: 0.4,
      hi: 0.6,
    })),
    incidence: [],
  } as unknown as RunReport;
}

describe("html template", () => {
  it("escapes every interpolated value, in text and in attributes", () => {
    for (const name of HOSTILE) {
      const out = html`<td title="${name}">${name}</td>`.value;
      expect(markupTags(out)).toEqual(["td", "td"]);
      expect(out).not.toContain("<img");
      expect(out).not.toContain("<script");
    }
    expect(html`${`a "b" & 'c' <d>`}`.value).toBe("a &quot;b&quot; &amp; &#39;c&#39; &lt;d&gt;");
  });

  it("keeps nested markup and lists as markup, and drops null and undefined", () => {
    const inner = html`<b>${"<i>"}</b>`;
    expect(html`<p>${inner}${[html`<br>`, "<x>"]}${null}${undefined}${0}</p>`.value).toBe(
      "<p><b>&lt;i&gt;</b><br>&lt;x&gt;0</p>",
    );
    expect(String(inner)).toBe("<b>&lt;i&gt;</b>");
    expect(inner).toBeInstanceOf(SafeHtml);
  });
});

describe("share links", () => {
  const shared: Shared = {
    file: "models/examples/sir.yaml",
    text: "brink: 1\nname: ünïcode ✓ & <tags>\n",
    runs: 3000,
    seed: 42,
    scenario: HOSTILE[0]!,
  };
  const withPayload = (value: unknown) =>
    `http://localhost/#share=${compressToEncodedURIComponent(JSON.stringify(value))}`;

  it("round-trips the model text and settings through the fragment only", () => {
    const link = shareLink("http://127.0.0.1:8080/?x=1#old", shared);
    const url = new URL(link);
    expect(url.search).toBe("?x=1");
    expect(url.hash.startsWith("#share=")).toBe(true);
    expect(readShareLink(link)).toEqual(shared);
  });

  it("fills absent settings with the page's defaults", () => {
    expect(readShareLink(withPayload({ text: "t" }))).toEqual({
      file: "shared.yaml",
      text: "t",
      runs: 2000,
      seed: 0,
      scenario: "base",
    });
  });

  it("rejects malformed links instead of guessing", () => {
    const bad: unknown[] = [
      null,
      [],
      "text",
      {},
      { text: 5 },
      { text: "t", runs: -1 },
      { text: "t", runs: 2.5 },
      { text: "t", runs: "1000" },
      { text: "t", runs: SHARE_LIMITS.maxRuns + 1 },
      { text: "t", seed: -1 },
      { text: "t", seed: Number.MAX_VALUE },
      { text: "t", file: "" },
      { text: "t", file: 7 },
      { text: "t", file: "a\u001b[31m.yaml" },
      { text: "t", file: "x".repeat(SHARE_LIMITS.name + 1) },
      { text: "t", scenario: ["a"] },
      { text: "t", scenario: "line\nbreak" },
    ];
    for (const value of bad) expect(readShareLink(withPayload(value)), JSON.stringify(value)).toBeUndefined();
    expect(readShareLink("http://localhost/")).toBeUndefined();
    expect(readShareLink("http://localhost/#share=%%%not-lz")).toBeUndefined();
    expect(
      readShareLink(`http://localhost/#share=${compressToEncodedURIComponent("{not json")}`),
    ).toBeUndefined();
    const small = { ...SHARE_LIMITS, fragment: 400, text: 100 };
    expect(readShareLink(`http://localhost/#share=${"A".repeat(401)}`, small)).toBeUndefined();
    expect(readShareLink(withPayload({ text: "x".repeat(101) }), small)).toBeUndefined();
    expect(readShareLink(withPayload({ text: "x".repeat(100) }), small)?.text).toHaveLength(100);
  });
});

/**
 * The loader refuses names that are not identifiers; to show the panels escape by themselves, hostile names are
 * put into a loaded spec directly, as if one had got through.
 */
function specWithHostileNames() {
  const [a, b, , d] = hostile("names");
  const spec = loadModel("hostile.yaml", hostileRunnableModel()).spec;
  spec.params = { ...spec.params, [b]: { dist: "1 to 2" }, [`pinned ${a}`]: { value: 3 } };
  spec.decisions = { [`decision ${d}`]: { value: 1, min: 0, max: 2 } };
  return spec;
}

describe("panels", () => {
  it("the parameter panel shows hostile names, docs and groups as text", () => {
    expect(() => loadModel("hostile.yaml", hostileNamesModel())).toThrow(/is not a valid name/);
    for (const spec of [loadModel("hostile.yaml", hostileRunnableModel()).spec, specWithHostileNames()]) {
      const pinned = new Map(
        Object.keys(spec.params ?? {}).map(
          (name) => [name, { dist: "1 to 2", original: '"1 to 2"' }] as const,
        ),
      );
      const markup = paramsPanel(spec, pinned).value;
      const tags = markupTags(markup);
      expect(tags).toContain("input");
      expect(tags).not.toContain("img");
      expect(tags).not.toContain("script");
      expect(tags).not.toContain("svg");
    }
  });

  it("a pinned param's ↺ button carries the name in data-restore, escaped", () => {
    const spec = specWithHostileNames();
    const markup = paramsPanel(
      spec,
      new Map([[`pinned ${hostile("names")[0]}`, { dist: "1 to 2", original: "1 to 2" }]]),
    ).value;
    expect(markupTags(markup)).toContain("button");
    expect(markup).toContain('data-restore="pinned &lt;img src=x onerror=&quot;');
  });

  it("the outcome, claim and comparison tables show hostile names as text", () => {
    const r = fakeReport(HOSTILE, HOSTILE, HOSTILE[2]!);
    for (const markup of [
      outcomesPanel(r, r).value,
      claimsPanel(r).value,
      compareTable({
        model: HOSTILE[0]!,
        runs: 100,
        seed: 1,
        scenarios: ["base", HOSTILE[3]!],
        reports: { base: r, [HOSTILE[3]!]: r },
        differences: [{ outcome: HOSTILE[2]!, scenario: HOSTILE[3]!, difference: 0.01, lo: -0.02, hi: 0.04 }],
      }).value,
    ]) {
      const tags = markupTags(markup);
      expect(tags).toContain("table");
      expect(tags).not.toContain("img");
      expect(tags).not.toContain("script");
      expect(tags).not.toContain("svg");
    }
  });

  it("the downloaded HTML report escapes the title, scenario, outcomes, claims and file name", async () => {
    const r = fakeReport(HOSTILE, HOSTILE, HOSTILE[0]!);
    const state = newState(HOSTILE[1]!);
    state.loaded = loadModel("h.yaml", hostileRunnableModel());
    const page = await reportHtml(state, r, hostileRunnableModel());
    expect(page).not.toMatch(/<img|<script|<svg onload/i);
    // Chart and table ids made from names are attributes too.
    const direct = renderHtml({
      title: "t",
      subtitle: "s",
      sections: [
        {
          title: HOSTILE[0]!,
          charts: [{ id: `chart-${HOSTILE[1]}`, svg: "<svg></svg>" }],
          tables: [{ id: `table-${HOSTILE[1]}`, title: "x", columns: [HOSTILE[2]!], rows: [[HOSTILE[3]!]] }],
        },
      ],
      metadata: { [HOSTILE[0]!]: HOSTILE[1]! },
    });
    expect(direct).not.toMatch(/<img|<script|<svg onload|id="chart-'"/i);
  });

  it("a report downloaded after an edit says so and carries the edited text's hash; no local folders", async () => {
    const text = readFileSync(join(ROOT, "models", "examples", "sir.yaml"), "utf8");
    const state = newState("sir.yaml");
    openFile(state, "/home/someone/models/sir.yaml", text);
    state.loaded = loadModel("sir.yaml", text);
    const r = fakeReport(["x"], []);
    const asOpened = await reportHtml(state, r, text);
    expect(asOpened).toContain("<dd>as opened</dd>");
    expect(asOpened).toContain(`<dd>${modelHash(text)}</dd>`);
    expect(asOpened).not.toContain("/home/someone");
    const edited = setValue(text, "params", Object.keys(state.loaded.spec.params ?? {})[0]!, 0.5, false);
    const afterEdit = await reportHtml(state, r, edited);
    expect(afterEdit).toMatch(/<dd>edited in the app/);
    expect(afterEdit).toContain(`<dd>${modelHash(edited)}</dd>`);
    expect(modelHash(edited)).not.toBe(modelHash(text));
  });

  it("neutralises nothing it need not: the CSV of outcomes keeps names as data", () => {
    const csv = outcomesCsv(fakeReport(["a,b"], []));
    expect(csv.split("\n")[1]).toMatch(/^"a,b",/);
  });
});

describe("formatting and state", () => {
  it("formats percentages, moves and slider steps", () => {
    expect(pct(0.1234)).toBe("12.3%");
    expect(moved(0.5, undefined, 0.4, 0.6)).toBe("");
    expect(moved(0.5, 0.5, 0.4, 0.6)).toBe("±0");
    expect(String(moved(0.55, 0.5, 0.45, 0.65))).toBe('<span class="up">+5.0 pt</span>');
    expect(String(moved(0.3, 0.5, 0.25, 0.35))).toBe('<span class="down">−20.0 pt ●</span>');
    expect(sliderStep(0, 1)).toBe(0.01);
    expect(sliderStep(5, 5)).toBe(0.01);
    expect(controlValue(true, false, "1")).toBe(0);
    expect(controlValue(false, false, "0.123456")).toBe(0.1235);
  });

  it("reads the run bar's fields within the page's limits", () => {
    expect(runSettings("2000", "7")).toEqual({ runs: 2000, seed: 7 });
    expect(runSettings("", "")).toEqual({ runs: 1000, seed: 0 });
    expect(runSettings("5", "-3")).toEqual({ runs: 100, seed: 0 });
    expect(runSettings("1e12", "2.6")).toEqual({ runs: 1_000_000, seed: 3 });
  });

  it("keeps the previous report only for the same model and scenario; a new file clears results", () => {
    const state = newState("a.yaml");
    const a = fakeReport(["x"], []);
    const b = fakeReport(["x"], [], "other");
    recordRun(state, a);
    expect(state.previous).toBeUndefined();
    recordRun(state, a);
    expect(state.previous).toBe(a);
    recordRun(state, b);
    expect(state.previous).toBeUndefined();
    state.pinned.set("p", { dist: "1 to 2", original: "1 to 2" });
    state.compare = {
      model: "m",
      runs: 100,
      seed: 1,
      scenarios: ["base"],
      reports: { base: a },
      differences: [],
    };
    openFile(state, "b.yaml");
    expect(state).toEqual({ file: "b.yaml", pinned: new Map() });
  });

  /** The lines that differ between two texts of the same line count, as [before, after] pairs. */
  const changedLines = (a: string, b: string) => {
    const x = a.split("\n");
    const y = b.split("\n");
    expect(y).toHaveLength(x.length);
    return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]] as const]));
  };
  const header = "brink: 1\nname: m\ntime: {start: 0, stop: 1, dt: 1}\n";

  it("a slider edit is a one-value diff; ↺ restores the exact original text (comments, flow, quotes, order)", () => {
    const text = [
      "# A model written by hand: comments, flow sequences and quotes stay as they are.",
      header.trim(),
      "params:",
      '  k: { dist: "1 to 2", unit: year }   # a quoted distribution, kept',
      "  bare: '3 to 5'   # a bare distribution in single quotes",
      "  j: 3",
      "  block:",
      "    unit: year",
      "    dist: 0.5 to 0.9    # block map, dist after unit",
      "decisions:",
      "  d: {value: 2, min: 0, max: 10, unit: person}",
      "stocks:",
      "  s: { init: j, inflows: [f], unit: year }",
      "flows:",
      "  f: k * bare * block * d / year   # flow",
      "",
    ].join("\n");
    // A plain value: only its characters change.
    const j = setValue(text, "params", "j", 4, false);
    expect(changedLines(text, j)).toEqual([["  j: 3", "  j: 4"]]);
    // A decision in a flow map without spaces: the map keeps its style.
    expect(changedLines(text, setValue(text, "decisions", "d", 7.5, false))).toEqual([
      ["  d: {value: 2, min: 0, max: 10, unit: person}", "  d: {value: 7.5, min: 0, max: 10, unit: person}"],
    ]);
    // Pinning distributions, then ↺: each pin is one line, and restoring all of them gives the text back.
    let edited = text;
    const pins = new Map<string, string>();
    for (const [name, v] of [
      ["k", 1.5],
      ["bare", 4],
      ["block", 0.7],
    ] as const) {
      const before = edited;
      const pin = pinValue(edited, "params", name, v, true);
      edited = pin.text;
      pins.set(name, pin.original!);
      expect(changedLines(before, edited)).toHaveLength(1);
    }
    expect(changedLines(text, edited)).toEqual([
      [
        '  k: { dist: "1 to 2", unit: year }   # a quoted distribution, kept',
        "  k: { value: 1.5, unit: year }   # a quoted distribution, kept",
      ],
      [
        "  bare: '3 to 5'   # a bare distribution in single quotes",
        "  bare: 4   # a bare distribution in single quotes",
      ],
      [
        "    dist: 0.5 to 0.9    # block map, dist after unit",
        "    value: 0.7    # block map, dist after unit",
      ],
    ]);
    const spec = loadModel("m.yaml", edited).spec;
    expect(spec.params?.k).toEqual({ value: 1.5, unit: "year" });
    expect(spec.params?.bare).toEqual({ value: 4 });
    // A pinned value moved again is still a one-value edit, and ↺ still restores the original.
    edited = setValue(edited, "params", "k", 1.75, false);
    for (const [name, original] of pins) edited = restoreDist(edited, name, original);
    expect(edited).toBe(text);
  });

  it("on the flagship, every slider's edit is one line and ↺ gives the file back byte for byte", () => {
    const text = readFileSync(join(ROOT, "models", "flagship", "flagship.yaml"), "utf8");
    const spec = loadModel("flagship.yaml", text).spec;
    for (const [name, p] of Object.entries(spec.params ?? {})) {
      const pin = pinValue(text, "params", name, 0.123, p.dist !== undefined);
      const [[before, after]] = changedLines(text, pin.text) as [[string, string]];
      expect(after.replace("0.123", "").length, name).toBeLessThanOrEqual(before.length);
      expect(loadModel("flagship.yaml", pin.text).spec.params?.[name]?.value, name).toBe(0.123);
      if (p.dist !== undefined) expect(restoreDist(pin.text, name, pin.original!), name).toBe(text);
    }
    for (const [name, d] of Object.entries(spec.decisions ?? {})) {
      const edited = setValue(text, "decisions", name, d.value + 0.5, false);
      expect(changedLines(text, edited), name).toHaveLength(1);
    }
  });
});

describe("run orchestration", () => {
  const report = fakeReport(["x"], []);
  const result = { report } as unknown as SimulationResult;

  it("a new run supersedes the one in flight: the old result and its late ticks are dropped", async () => {
    const pending: { options: SimulateOptions & { onProgress?: (p: never) => void }; done: () => void }[] =
      [];
    const runs = new Runs(
      (_input, options) => new Promise((resolve) => pending.push({ options, done: () => resolve(result) })),
    );
    const ticks: number[] = [];
    const first = runs.start({ file: "m", text: "t" }, { runs: 100, seed: 1 }, (p) => ticks.push(p.done));
    const second = runs.start({ file: "m", text: "t" }, { runs: 200, seed: 2, scenario: "s" }, (p) =>
      ticks.push(p.done),
    );
    expect(pending[0]!.options.signal?.aborted).toBe(true);
    expect(pending[1]!.options).toMatchObject({ runs: 200, seed: 2, scenario: "s" });
    pending[0]!.options.onProgress?.({ done: 1 } as never);
    pending[1]!.options.onProgress?.({ done: 2 } as never);
    pending[0]!.done();
    pending[1]!.done();
    expect(await first).toBeUndefined();
    expect(await second).toBe(result);
    expect(ticks).toEqual([2]);
  });

  it("a cancelled run's failure is not an error; a live run's failure is", async () => {
    const runs = new Runs(
      (_input, options) =>
        new Promise((_resolve, reject) => {
          options.signal?.addEventListener("abort", () => reject(new Error("stopped")));
          if (options.seed === 9) reject(new Error("bad model"));
        }),
    );
    const cancelled = runs.start({ file: "m", text: "t" }, { runs: 100, seed: 1 });
    runs.cancel();
    expect(await cancelled).toBeUndefined();
    await expect(runs.start({ file: "m", text: "t" }, { runs: 100, seed: 9 })).rejects.toThrow("bad model");
  });

  it("compares every scenario in one job over the same runs and seed, with paired differences", async () => {
    const calls: SimulateOptions[] = [];
    const text = `brink: 1
name: m
time: { start: 0, stop: 10, dt: 1 }
outcomes:
  x: { rate: 0.1 }
scenarios:
  a: { outcomes: { x: { rate: 0.2 } } }
  b: {}
`;
    const comparison = await runComparison(
      { file: "m.yaml", text },
      ["a", "b"],
      { runs: 300, seed: 5 },
      async (_input, options) => {
        calls.push(options);
        // What runSimulation returns: the first scenario's report with the paired claims, the others' reports.
        const paired = (options.extraClaims ?? []).map((c, i) => ({
          ...fakeReport(["x"], ["x"]).claims[0]!,
          id: c.id,
          p: i / 10,
        }));
        return {
          report: { ...fakeReport(["x"], []), claims: paired },
          others: { a: fakeReport(["x"], [], "a"), b: fakeReport(["x"], [], "b") },
        } as unknown as SimulationResult;
      },
    );
    expect(Object.keys(comparison.reports)).toEqual(["base", "a", "b"]);
    // One job: the base, with the other scenarios' terms as claims over the same run indices.
    expect(calls.map((c) => [c.scenario, c.runs, c.seed, c.extraClaims?.length])).toEqual([
      [undefined, 300, 5, 4],
    ]);
    expect(comparison.differences.map((d) => [d.outcome, d.scenario, d.difference])).toEqual([
      ["x", "a", 0],
      ["censored", "a", 0.1],
      ["x", "b", 0.2],
      ["censored", "b", 0.3],
    ]);
  });
});

describe("share-link decompression", () => {
  it("gives lz-string's own results on any text, and on corrupt input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
        const packed = compressToEncodedURIComponent(text);
        expect(decompressLinkText(packed, 10_000)).toBe(decompressFromEncodedURIComponent(packed));
        const corrupt = packed.slice(0, Math.floor(packed.length / 2)) + packed.slice(-3);
        expect(decompressLinkText(corrupt, 10_000)).toBe(decompressFromEncodedURIComponent(corrupt));
      }),
    );
    expect(decompressLinkText("", 10)).toBe(decompressFromEncodedURIComponent(""));
  });

  it("stops at the cap: a short fragment that expands quadratically is refused, not decoded", () => {
    // 300,000 repeated characters pack into about a thousand: each code repeats one more than the last.
    const bomb = compressToEncodedURIComponent("a".repeat(300_000));
    expect(bomb.length).toBeLessThan(3_000);
    expect(decompressLinkText(bomb, 100_000)).toBeUndefined();
    expect(decompressLinkText(bomb, 300_000)).toHaveLength(300_000);
    const small = { ...SHARE_LIMITS, text: 1000 };
    expect(readShareLink(`http://localhost/#share=${bomb}`, small)).toBeUndefined();
  });
});
