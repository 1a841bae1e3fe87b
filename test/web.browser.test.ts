/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from "lz-string";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { RunReport } from "../src/analysis/results.js";
import { loadModel } from "../src/model/load.js";
import { compareScenarios } from "../src/node/compare.js";
import { PAGE_POLICY, SCRIPT_POLICY } from "../src/node/serve.js";
import { closeWorkers, simulate } from "../src/node/simulate.js";
import { SCREENSHOTS as OUT, serveAppInChromium } from "./browser-helpers.js";
import { ROOT } from "./helpers.js";
import { hostile, hostileNamesModel, hostileRunnableModel } from "./hostile-names.js";

/**
 * End-to-end: the built app (npm run build) served by `brink serve`'s server, driven in Debian's Chromium.
 * Required in CI (.ci/run installs Chromium), not skipped.
 */
const FLAGSHIP = join(ROOT, "models", "flagship", "flagship.yaml");

let server: Server;
let url: string;
let browser: Browser;

beforeAll(async () => {
  ({ server, url, browser } = await serveAppInChromium());
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await closeWorkers();
});

/** A fresh page that records console problems and every request outside the app's own origin. */
async function openPage(address: string): Promise<{ page: Page; problems: string[]; outside: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const problems: string[] = [];
  const outside: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("request", (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith("blob:") && !r.url().startsWith("data:"))
      outside.push(r.url());
  });
  await page.goto(address);
  return { page, problems, outside };
}

/** Wait until a run finishes (the page counts them) and return the outcome table's text. */
async function nextRun(page: Page, after: number): Promise<string> {
  await page.waitForFunction((n) => Number(document.body.dataset.completed ?? 0) > n, after, {
    timeout: 90_000,
  });
  return (await page.textContent("#outcome-table")) ?? "";
}
const completed = (page: Page) => page.evaluate(() => Number(document.body.dataset.completed ?? 0));

/** The page's share link, and the model text and settings it carries. */
async function sharedState(page: Page): Promise<{ link: string; text: string; seed: number; runs: number }> {
  await page.click("#share");
  const link = await page.inputValue("#share-url");
  const packed = /#share=(.+)$/.exec(link)?.[1] ?? "";
  return { link, ...JSON.parse(decompressFromEncodedURIComponent(packed)) };
}

/** axe-core's WCAG 2 A and AA violations on the page as it is now. */
async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol rather than added as an inline <script>, which a
  // Content-Security-Policy without inline script (as `brink serve` sends) would block.
  if (!(await page.evaluate(() => "axe" in window)))
    await page.evaluate(readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8"));
  return page.evaluate(async () => {
    type Result = { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<Result> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return r.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes
          .map((n) => n.target.join(" "))
          .slice(0, 3)
          .join(", ")}`,
    );
  });
}

async function downloadedReport(page: Page): Promise<RunReport> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-json")]);
  return JSON.parse(readFileSync((await download.path())!, "utf8")) as RunReport;
}

// Whole user journeys on a shared 2-core CI machine: generous limits, since a slow run is not a failure here.
describe("the browser app", { timeout: 300_000 }, () => {
  it("opens the flagship, runs it on Web Workers with Node's numbers, edits, switches scenario, shares", async () => {
    const { page, problems, outside } = await openPage(url);
    const first = await nextRun(page, 0);
    expect(first).toContain("regime_collapse");
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // Charts drawn: the incidence curves and a fan chart, as SVG with marks.
    for (const id of ["#chart-incidence", "#chart-fan"]) {
      const marks = await page.locator(`${id} svg path`).count();
      expect(marks, id).toBeGreaterThan(3);
    }
    const claims = await page.locator("#claims-table tbody tr").count();
    expect(claims).toBe(parse(readFileSync(FLAGSHIP, "utf8")).claims.length);

    // The same job in Node gives the same report, outcome by outcome.
    const browserReport = await downloadedReport(page);
    const node = await simulate(
      { file: "models/flagship/flagship.yaml", text: readFileSync(FLAGSHIP, "utf8") },
      { runs: 2000, seed: 1, workers: 2 },
    );
    expect(browserReport.outcomes).toEqual(node.report.outcomes);
    expect(browserReport.claims).toEqual(node.report.claims);
    await page.screenshot({ path: join(OUT, "app-results.png"), fullPage: true });

    // Edit a param with the keyboard: the slider rewrites the model text, and the run repeats.
    const done = await completed(page);
    const slider = page.locator("#p-params-regime_tied_to_war");
    await slider.focus();
    await page.keyboard.press("Space");
    const edited = await nextRun(page, done);
    expect((await sharedState(page)).text).toMatch(/regime_tied_to_war: \{ value: 0/);
    expect(edited).not.toBe(first);
    expect(await page.textContent("#outcome-table")).toMatch(/[+−]\d+\.\d pt/);

    // Pin an uncertain param with its slider, then restore its distribution.
    const pinnedAt = await completed(page);
    await page.locator("#p-params-regime_base_hazard").focus();
    await page.keyboard.press("ArrowRight");
    await nextRun(page, pinnedAt);
    const hazard = async () => parse((await sharedState(page)).text).params.regime_base_hazard;
    const pinnedParam = await hazard();
    expect(pinnedParam.value).toBeGreaterThan(0.012);
    expect(pinnedParam.dist).toBeUndefined();
    const restoredAt = await completed(page);
    await page.click('[data-restore="regime_base_hazard"]');
    await nextRun(page, restoredAt);
    const restoredParam = await hazard();
    expect(restoredParam.dist).toBe("0.012 to 0.04");
    expect(restoredParam.value).toBeUndefined();

    // Switch scenario.
    const before = await completed(page);
    await page.selectOption("#scenario", "genuine_talks");
    const talks = await nextRun(page, before);
    expect(talks).toContain("scenario genuine_talks");
    await page.screenshot({ path: join(OUT, "app-scenario.png"), fullPage: true });

    // Share: a second browser opening the link sees the same numbers for the same seed.
    const link = (await sharedState(page)).link;
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(link);
    expect(await nextRun(second, 0)).toBe(talks);
    await other.close();

    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  });

  it("opens an XMILE file and a dropped one, downloads the report and CSV, cancels a long run", async () => {
    const { page, problems } = await openPage(url);
    await nextRun(page, 0);
    // Open a file from disk: the teacup model of the public XMILE suite when present, else an exported example.
    const suiteTeacup = join(ROOT, "..", "shared", "test-models", "samples", "teacup", "teacup.xmile");
    let xmile = suiteTeacup;
    if (!existsSync(suiteTeacup)) {
      const { exportXmile } = await import("../src/io/xmile-export.js");
      const { loadModel } = await import("../src/model/load.js");
      const teacup = join(ROOT, "models", "examples", "teacup.yaml");
      xmile = join(OUT, "teacup.xmile");
      writeFileSync(xmile, exportXmile(loadModel(teacup, readFileSync(teacup, "utf8"))));
    }
    const done = await completed(page);
    await page.setInputFiles("#file-input", xmile);
    await page.waitForFunction((n) => Number(document.body.dataset.completed ?? 0) > n, done, {
      timeout: 60_000,
    });
    expect(await page.textContent("#outcome-table caption")).toMatch(/runs, seed 1/);
    expect(await page.locator("#chart-fan svg path").count()).toBeGreaterThan(0);

    // The HTML report and the CSV of the current results.
    const [html] = await Promise.all([page.waitForEvent("download"), page.click("#download-html")]);
    const report = readFileSync((await html.path())!, "utf8");
    expect(report).toMatch(/^<!doctype html>/i);
    expect(report).toContain("<svg");
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
    // An undated model: the median time's column names its unit (the teacup's, or "time units" when it has none).
    expect(readFileSync((await csv.path())!, "utf8").split("\n")[0]).toMatch(
      /^end state,runs,p,95% low,95% high,median time \((minute|time units)\)$/,
    );

    // Drop a model file on the editor: it opens and runs.
    const sir = readFileSync(join(ROOT, "models", "examples", "sir.yaml"), "utf8");
    const dropped = await completed(page);
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], "sir.yaml", { type: "text/yaml" }));
      document
        .getElementById("editor")!
        .dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
    }, sir);
    await page.waitForFunction((n) => Number(document.body.dataset.completed ?? 0) > n, dropped, {
      timeout: 60_000,
    });
    expect(await page.inputValue("#fan-variable")).not.toBe("");
    expect((await sharedState(page)).text).toBe(sir);

    // A dropped Vensim model is imported and runs (the fixture has 2-D subscripts and a stock per element).
    const mdl = readFileSync(join(ROOT, "test", "fixtures", "vensim", "subscripts.mdl"), "utf8");
    const droppedMdl = await completed(page);
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], "subscripts.mdl", { type: "text/plain" }));
      document
        .getElementById("editor")!
        .dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
    }, mdl);
    await page.waitForFunction((n) => Number(document.body.dataset.completed ?? 0) > n, droppedMdl, {
      timeout: 60_000,
    });
    expect(await page.locator("#fan-variable option[value='stock2d__south__a1']").count()).toBe(1);

    // A long run of the flagship, cancelled: the buttons come back and nothing more arrives.
    await page.selectOption("#model-select", "models/flagship/flagship.yaml");
    await nextRun(page, await completed(page));
    const before = await completed(page);
    await page.fill("#runs", "1000000");
    await page.click("#run");
    await page.waitForFunction(
      () => Number((document.getElementById("progress") as HTMLProgressElement).value) > 0,
    );
    await page.click("#cancel");
    expect(await page.textContent("#status")).toBe("Cancelled.");
    expect(await page.isEnabled("#run")).toBe(true);
    // Nothing of the cancelled job arrives later: no result, and the status stays.
    await page.waitForTimeout(1500);
    expect(await completed(page)).toBe(before);
    expect(await page.textContent("#status")).toBe("Cancelled.");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the checker's diagnostics at their line while editing", async () => {
    const { page } = await openPage(url);
    await nextRun(page, 0);
    await page.click(".cm-content");
    await page.keyboard.press("Control+End");
    await page.keyboard.type("\nvars:\n  oops: undefined_thing * 2\n");
    await page.waitForFunction(
      () => (document.getElementById("diagnostics")?.textContent ?? "").includes("error"),
      null,
      {
        timeout: 20_000,
      },
    );
    const text = (await page.textContent("#diagnostics")) ?? "";
    expect(text).toMatch(/flagship\.yaml:\d+:\d+: error: /);
    await page.screenshot({ path: join(OUT, "app-diagnostics.png") });
    await page.close();
  });

  it("compares scenarios and draws the sensitivity tornado", async () => {
    const { page } = await openPage(url);
    await nextRun(page, 0);
    await page.fill("#runs", "300");
    await page.click("#tab-compare");
    await page.click("#compare-run");
    await page.waitForSelector("#compare tbody tr", { timeout: 90_000 });
    expect(await page.locator("#compare thead th").count()).toBeGreaterThanOrEqual(5);
    // The page's paired differences are the CLI's: the same comparison job, run on Web Workers.
    const flagship = join(ROOT, "models/flagship/flagship.yaml");
    const text = readFileSync(flagship, "utf8");
    const cli = await compareScenarios(
      { file: "models/flagship/flagship.yaml", text },
      ["base", ...loadModel(flagship, text).scenarios],
      { runs: 300, seed: 1, workers: 2 },
    );
    const points = (x: number | null) =>
      x === null ? "–" : `${x >= 0 ? "+" : "−"}${(100 * Math.abs(x)).toFixed(1)}`;
    expect(await page.locator("#compare-differences tbody tr td:nth-child(3)").allTextContents()).toEqual(
      cli.differences.map((d) => `${points(d.difference)} pt`),
    );
    await page.click("#tab-sensitivity");
    await page.fill("#sens-samples", "16");
    await page.click("#sens-run");
    await page.waitForSelector("#chart-tornado svg", { timeout: 90_000 });
    expect(await page.locator("#chart-tornado svg path").count()).toBeGreaterThan(2);
    await page.screenshot({ path: join(OUT, "app-sensitivity.png"), fullPage: true });
    // The downloaded report carries what the page computed: the same sections as `brink report`.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-html")]);
    const html = readFileSync((await download.path())!, "utf8");
    for (const title of [
      "End states",
      "Claims",
      "Tracked variables",
      "Scenarios",
      "Sensitivity",
      "Assumptions and sources",
    ])
      expect(html, title).toContain(`<h2>${title}</h2>`);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });

  it("plays three war-room turns and gives a debrief", async () => {
    const { page, problems } = await openPage(url);
    await nextRun(page, 0);
    await page.click("#tab-warroom");
    await page.fill("#wr-months", "3");
    await page.click("#wr-start");
    for (let turn = 1; turn <= 3; turn++) {
      await page.waitForSelector("#wr-risk", { timeout: 60_000 });
      expect(await page.textContent("#wr-turn")).toContain(`Month ${turn} of`);
      // Send troops: the slider by keyboard, then the forecast updates.
      await page.locator("#wr-deploy").focus();
      for (let k = 0; k < 5 * turn; k++) await page.keyboard.press("ArrowRight");
      await page.waitForSelector("#wr-risk", { timeout: 60_000 });
      expect(await page.textContent("#wr-risk")).toMatch(/Risk of nuclear use this month: \d+\.\d%/);
      await page.click("#wr-advance");
      await page.waitForFunction(
        (n) => {
          const heading = document.getElementById("wr-turn")?.textContent ?? "";
          return heading.includes(`Month ${n} of`) || (n > 3 && heading.includes("Game over"));
        },
        turn + 1,
        {
          timeout: 60_000,
        },
      );
    }
    expect(await page.locator("#wr-log tbody tr").count()).toBe(3);
    // The game is over after three months: the debrief sets the schedule against the policies.
    await page.waitForSelector("#wr-debrief-table", { timeout: 120_000 });
    const debrief = (await page.textContent("#wr-debrief-table")) ?? "";
    expect(debrief).toContain("your schedule");
    expect(debrief).toContain("the model's own rules");
    expect(debrief).toContain("optimised decisions");
    expect(await page.locator("#wr-paths svg path").count()).toBeGreaterThan(2);
    expect(await axeViolations(page)).toEqual([]);
    // Troops sent: 500 + 1000 + 1500 along the history.
    expect(await page.textContent("#wr-state")).toContain("3,000");
    await page.screenshot({ path: join(OUT, "app-warroom.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("never scrolls sideways from 390 px up: every tab, before and after a slider edit; tables scroll in their box", async () => {
    const { page, problems } = await openPage(url);
    await nextRun(page, 0);
    await page.fill("#runs", "200");
    /** How far the page is wider than its window, with the widest elements that stick out (for the message). */
    const overflow = () =>
      page.evaluate(() => {
        const root = document.documentElement;
        const within = (e: Element) => e.closest(".scroll, .cm-scroller");
        const out = [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1 && !within(e))
          .slice(0, 5)
          .map(
            (e) =>
              `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`,
          );
        return { extra: root.scrollWidth - root.clientWidth, out };
      });
    const widths = [1440, 1024, 800, 390];
    const check = async (tab: string, moment: string) => {
      for (const width of widths) {
        await page.setViewportSize({ width, height: 900 });
        const o = await overflow();
        expect(o.extra, `${tab} at ${width} px ${moment}: ${o.out.join(", ")}`).toBeLessThanOrEqual(0);
        if (moment === "fresh" && width !== 800)
          await page.screenshot({ path: join(OUT, `app-${tab}-${width}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1440, height: 900 });
    };
    await check("results", "fresh");
    await page.click("#tab-compare");
    await page.click("#compare-run");
    await page.waitForSelector("#compare tbody tr", { timeout: 90_000 });
    await check("compare", "fresh");
    await page.click("#tab-sensitivity");
    await page.fill("#sens-samples", "16");
    await page.click("#sens-run");
    await page.waitForSelector("#chart-tornado svg", { timeout: 90_000 });
    await check("sensitivity", "fresh");
    await page.click("#tab-warroom");
    await page.fill("#wr-months", "2");
    await page.click("#wr-start");
    await page.waitForSelector("#wr-risk", { timeout: 60_000 });
    await check("warroom", "fresh");
    // A slider edit: the model text changes, the run repeats, and still nothing widens the page.
    await page.click("#tab-results");
    const done = await completed(page);
    await page.locator("#p-params-regime_base_hazard").focus();
    await page.keyboard.press("ArrowRight");
    await nextRun(page, done);
    await check("results", "after a slider edit");
    await page.click("#tab-compare");
    await check("compare", "after a slider edit");
    // The wide tables scroll inside their own boxes, which the keyboard can reach.
    await page.setViewportSize({ width: 390, height: 900 });
    const box = page.locator(".scroll", { has: page.locator("#compare") });
    expect(await box.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
    expect(await box.getAttribute("tabindex")).toBe("0");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("is usable by keyboard and screen reader: labelled controls, arrow-key tabs, readable contrast", async () => {
    const { page } = await openPage(url);
    await nextRun(page, 0);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, button")]
        .filter((el) => {
          const e = el as HTMLInputElement;
          if (e.hidden || e.type === "hidden") return false;
          return !(e.labels?.length || e.getAttribute("aria-label") || e.textContent?.trim());
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);
    await page.focus("#tab-results");
    await page.keyboard.press("ArrowRight");
    expect(await page.getAttribute("#tab-compare", "aria-selected")).toBe("true");
    expect(await page.isVisible("#panel-compare")).toBe(true);
    // WCAG contrast of text against its background, for the main kinds of text.
    const ratios = await page.evaluate(() => {
      const lum = (c: string) => {
        const [r, g, b] = (c.match(/\d+(\.\d+)?/g) ?? ["0", "0", "0"]).slice(0, 3).map((x) => {
          const v = Number(x) / 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const background = (el: Element | null): string => {
        for (let e = el; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") return bg;
        }
        return "rgb(255, 255, 255)";
      };
      return [
        "header h1",
        "#tab-compare",
        "#tab-results",
        "#run",
        "#status",
        "#outcome-table td",
        "#params label",
      ].map((sel) => {
        const el = document.querySelector(sel);
        if (!el) return { sel, ratio: 0 };
        const a = lum(getComputedStyle(el).color);
        const b = lum(background(el));
        return { sel, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
      });
    });
    for (const r of ratios) expect(r.ratio, r.sel).toBeGreaterThanOrEqual(4.5);
    // And axe-core's WCAG 2 A/AA rules over the whole page (results, and the war room's start form).
    await page.click("#tab-results");
    expect(await axeViolations(page)).toEqual([]);
    await page.click("#tab-warroom");
    await page.waitForSelector("#wr-start");
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });
});

/**
 * The app's server behind a proxy that sets the Content-Security-Policy of each answer by its type (or removes
 * it: undefined), whatever `brink serve` itself sends.
 */
async function withPolicy(
  policy: (contentType: string) => string | undefined,
): Promise<{ proxy: Server; at: string }> {
  const proxy = createServer((req, res) => {
    const upstream = request(
      new URL(req.url ?? "/", url),
      // The server answers only to its own address (DNS-rebinding check), so the proxy names it as Host.
      { method: req.method, headers: { ...req.headers, host: new URL(url).host } },
      (r) => {
        const headers = { ...r.headers };
        delete headers["content-security-policy"];
        const chosen = policy(String(r.headers["content-type"] ?? ""));
        if (chosen) headers["content-security-policy"] = chosen;
        res.writeHead(r.statusCode ?? 502, headers);
        r.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
  const address = proxy.address();
  return { proxy, at: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/` };
}

/** Violations of the page's policy, as the page reports them (recorded from before its first script). */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { violations: string[] }).violations = seen;
    document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`),
    );
  });
  return () => page.evaluate(() => (window as unknown as { violations: string[] }).violations);
}

/** Anything in the DOM that markup from a name could have made: handlers, images, frames, scripts not the app's. */
function injected(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const el of document.querySelectorAll("*")) {
      for (const a of el.attributes)
        if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) found.push(`${el.tagName} ${a.name}`);
      if (/^(IMG|IFRAME|OBJECT|EMBED)$/.test(el.tagName)) found.push(el.tagName);
      if (el.tagName === "SCRIPT" && !(el as HTMLScriptElement).src) found.push("inline SCRIPT");
    }
    if (document.body.dataset.xss) found.push(`ran: ${document.body.dataset.xss}`);
    return found;
  });
}

describe("the browser app's security", { timeout: 300_000 }, () => {
  it("runs under the policies `brink serve` sends with no violation: no eval, inline script or handler in the page", async () => {
    // The server under test is serveApp itself: the page gets PAGE_POLICY and the scripts SCRIPT_POLICY.
    const policies = new Set<string>();
    try {
      const page = await browser.newPage({ acceptDownloads: true });
      const violations = await recordViolations(page);
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      page.on("response", (r) => {
        const policy = r.headers()["content-security-policy"];
        if (policy) policies.add(policy);
      });
      await page.goto(url);
      await nextRun(page, 0);
      expect([...policies].sort()).toEqual([PAGE_POLICY, SCRIPT_POLICY].sort());
      expect(await page.locator("#chart-fan svg path").count()).toBeGreaterThan(3);
      // A scenario, the comparison (charts again) and the HTML report (the report's own charts).
      const before = await completed(page);
      await page.selectOption("#scenario", "genuine_talks");
      expect(await nextRun(page, before)).toContain("scenario genuine_talks");
      await page.fill("#runs", "100");
      await page.click("#tab-compare");
      await page.click("#compare-run");
      await page.waitForSelector("#chart-compare svg", { timeout: 90_000 });
      // Sensitivity plans its design in the page and evaluates it in the workers.
      await page.click("#tab-sensitivity");
      await page.fill("#sens-samples", "16");
      await page.click("#sens-run");
      await page.waitForSelector("#chart-tornado svg", { timeout: 90_000 });
      const [html] = await Promise.all([page.waitForEvent("download"), page.click("#download-html")]);
      expect(readFileSync((await html.path())!, "utf8")).toContain("<svg");
      // The war room: its game runs in a worker, its forecast comes back to the page.
      await page.click("#tab-warroom");
      await page.click("#wr-start");
      await page.waitForSelector("#wr-risk", { timeout: 60_000 });
      expect(await violations()).toEqual([]);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      policies.clear();
    }
  });

  it("the model kernel is what needs 'unsafe-eval', and only in the Web Workers", async () => {
    // The page's policy on the worker scripts too: Chromium gives a worker its own script's policy, so the
    // workers cannot compile a kernel and the run fails with the policy's own message.
    const { proxy, at } = await withPolicy(() => PAGE_POLICY);
    try {
      const page = await browser.newPage();
      await page.goto(at);
      await page.waitForFunction(
        () => /unsafe-eval/.test(document.getElementById("status")?.textContent ?? ""),
        null,
        {
          timeout: 60_000,
        },
      );
      expect(await completed(page)).toBe(0);
      await page.close();
    } finally {
      proxy.close();
    }
  });

  it("hostile names in a share link (params, scenarios, outcomes, mechanisms, claims, title) stay text", async () => {
    // No policy at all: the escaping must hold by itself, not only because a policy blocks handlers.
    const { proxy, at } = await withPolicy(() => undefined);
    const dialogs: string[] = [];
    const link = (text: string, scenario: string) =>
      `${at}#share=${compressToEncodedURIComponent(JSON.stringify({ file: hostile("file")[1], text, runs: 200, seed: 3, scenario }))}`;
    try {
      // A model that runs: hostile title, mechanism doc, param docs, claim text (names are identifiers by rule).
      const runnable = hostileRunnableModel();
      const scenario = "scenario_a";
      const page = await browser.newPage({ acceptDownloads: true });
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(link(runnable, scenario));
      await nextRun(page, 0);
      expect(await page.textContent("#outcome-table caption")).toContain(scenario);
      expect(await page.inputValue("#scenario")).toBe(scenario);
      expect(await page.textContent("#claims-table")).toContain(`claim ${hostile("runnable")[0]}`);
      expect(await page.textContent("#params legend")).toContain("mechanism");
      await page.fill("#runs", "100");
      await page.click("#tab-compare");
      await page.click("#compare-run");
      await page.waitForSelector("#compare tbody tr", { timeout: 90_000 });
      expect(await page.textContent("#compare thead")).toContain(scenario);
      const [html] = await Promise.all([page.waitForEvent("download"), page.click("#download-html")]);
      expect(readFileSync((await html.path())!, "utf8")).not.toMatch(/<img|<script>|<svg onload/i);
      expect(await injected(page)).toEqual([]);
      await page.close();

      // Names the loader rejects (a param, an outcome, a decision, a scenario): no model, the diagnostics quote them.
      const names = await browser.newPage();
      names.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await names.goto(link(hostileNamesModel(), `scenario ${hostile("names")[1]}`));
      await names.waitForFunction(() =>
        (document.getElementById("diagnostics")?.textContent ?? "").includes("error"),
      );
      expect(await names.textContent("#diagnostics")).toContain("<img src=x");
      expect(await names.locator("#params input").count()).toBe(0);
      expect(await injected(names)).toEqual([]);
      await names.close();
      expect(dialogs).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});
