/// <reference lib="dom" />
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signposts } from "../src/analysis/signposts.js";
import { weigh } from "../src/analysis/weigh.js";
import { prepareModel } from "../src/engine/prepare.js";
import { loadObservations } from "../src/node/observations.js";
import { signpostOptions } from "../src/web/weigh.js";
import { SCREENSHOTS as OUT, serveAppInChromium } from "./browser-helpers.js";
import { ROOT } from "./helpers.js";
import { hostile } from "./hostile-names.js";

/**
 * The app's weigh tab end to end: the built app served by `brink serve`'s server, in Debian's Chromium — the
 * weights and signposts of the bundled rival theses computed on Web Workers equal Node's, the job cancels, a model with
 * markup in its scenario docs, title and file name stays text, and the tab fits 375, 800 and 1400 px.
 */
const FLU = "models/examples/flu-rival-theses.yaml";

let server: Server;
let url: string;
let browser: Browser;

beforeAll(async () => {
  ({ server, url, browser } = await serveAppInChromium());
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** The app with a model open on the weigh tab; problems: console errors, page errors and any dialog (injected script). */
async function weighTab(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.completed ?? 0) > 0, null, {
    timeout: 120_000,
  });
  await page.click("#tab-weigh");
  return { page, problems };
}

/** axe-core's WCAG 2 A and AA violations on the page as it is now (as the app's own browser test checks). */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window)))
    await page.evaluate(readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8"));
  return page.evaluate(async () => {
    type Result = { violations: { id: string; nodes: { target: string[] }[] }[] };
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<Result> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}

const weighed = (page: Page) => page.evaluate(() => Number(document.body.dataset.weighed ?? 0));
async function nextWeighing(page: Page, after: number): Promise<void> {
  // Done, or failed (the status then says why: shown in the assertion).
  await page.waitForFunction(
    (n) =>
      Number(document.body.dataset.weighed ?? 0) > n ||
      (document.getElementById("weigh-run") as HTMLButtonElement).disabled === false,
    after,
    { timeout: 120_000, polling: 200 },
  );
  expect(await weighed(page), (await page.textContent("#status")) ?? "").toBeGreaterThan(after);
}

/** Open a model as a dropped file (the app's drop target is the editor). */
async function drop(page: Page, name: string, text: string): Promise<void> {
  await page.evaluate(
    ([n, t]) => {
      const data = new DataTransfer();
      data.items.add(new File([t!], n!, { type: "text/yaml" }));
      document
        .getElementById("editor")!
        .dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
    },
    [name, text],
  );
}

describe("the app's weigh tab", { timeout: 300_000 }, () => {
  it("weighs the bundled rival theses on Web Workers with Node's numbers, and draws them over time", async () => {
    const { page, problems } = await weighTab();
    expect(await page.textContent("#weigh-choices")).toMatch(/no observations/);
    await page.selectOption("#model-select", FLU);
    await page.waitForSelector('#weigh-scenarios input[value="seir"]');
    await page.fill("#weigh-iterations", "300");
    await page.click("#weigh-run");
    await nextWeighing(page, 0);
    // Node's weigh of the same job (the CLI's defaults but the iterations, seed 1) gives the same weights.
    const text = readFileSync(join(ROOT, FLU), "utf8");
    const scenarios = ["sir", "seir"].map((name) => {
      const model = prepareModel(FLU, text, { scenario: name });
      return { name, model, series: loadObservations(join(ROOT, FLU), model.loaded) };
    });
    const node = await weigh(FLU, scenarios, {
      seed: 1,
      chains: 4,
      iterations: 300,
      burnIn: 500,
      particles: 200,
      evidenceDraws: 1000,
      every: "observation",
    });
    const shown = await page.locator("#weigh-table tbody td:nth-child(6)").allTextContents();
    expect(shown).toEqual(node.weights.map((w) => `${(100 * w.weight).toFixed(1)}%`));
    expect(await page.locator("#weigh-series tbody tr").count()).toBe(node.series.length);
    // The chart: a line and a band per scenario.
    expect(await page.locator("#chart-weigh svg path").count()).toBeGreaterThan(4);
    expect(await page.textContent("#status")).toMatch(/^Weighed 2 scenarios against 14 observations/);
    // Signposts: the page's are Node's, for the same runs and seed.
    await page.fill("#runs", "300");
    await page.click("#signposts-run");
    await page.waitForFunction(() => Number(document.body.dataset.signposts ?? 0) > 0, null, {
      timeout: 120_000,
    });
    const posts = await signposts(
      FLU,
      scenarios,
      signpostOptions(
        scenarios.map((s) => ({ ...s })),
        { runs: 300, seed: 1 },
      ),
    );
    expect(await page.locator("#signposts-table tbody th").allTextContents()).toEqual(
      posts.signposts.map((p) => p.observable),
    );
    expect(await page.locator("#signposts-table tbody td:nth-child(4)").allTextContents()).toEqual(
      posts.signposts.map((p) => p.information_bits.toPrecision(3)),
    );
    expect(await page.locator("#chart-signposts svg path").count()).toBeGreaterThan(2);
    expect(await page.locator("#signposts-thresholds li").count()).toBeGreaterThan(4);
    expect(await axeViolations(page)).toEqual([]);
    // No sideways scroll of the page at any width; screenshots to look at.
    for (const width of [375, 800, 1400]) {
      await page.setViewportSize({ width, height: 900 });
      const extra = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(extra, `${width} px`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(OUT, `app-weigh-${width}.png`), fullPage: true });
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it("cancels a long weighing: the buttons come back and nothing of it arrives later", async () => {
    const { page, problems } = await weighTab();
    await page.selectOption("#model-select", FLU);
    await page.waitForSelector('#weigh-scenarios input[value="seir"]');
    await page.fill("#weigh-iterations", "100000");
    await page.click("#weigh-run");
    // Progress from the samplers, then cancel mid-way.
    await page.waitForFunction(
      () => /sampler iterations/.test(document.getElementById("status")?.textContent ?? ""),
      null,
      { timeout: 60_000 },
    );
    expect(
      await page.evaluate(() => (document.getElementById("progress") as HTMLProgressElement).value),
    ).toBeGreaterThan(0);
    expect(await page.isEnabled("#weigh-cancel")).toBe(true);
    await page.click("#weigh-cancel");
    expect(await page.textContent("#status")).toBe("Cancelled.");
    expect(await page.isEnabled("#weigh-run")).toBe(true);
    expect(await page.isEnabled("#weigh-cancel")).toBe(false);
    await page.waitForTimeout(1500);
    expect(await weighed(page)).toBe(0);
    expect(await page.textContent("#status")).toBe("Cancelled.");
    expect(await page.locator("#weigh-table").count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps markup in scenario names, scenario docs, the title and the file name as text", async () => {
    const { page, problems } = await weighTab();
    const [a, b, c, d] = hostile("weigh");
    const flu = readFileSync(join(ROOT, FLU), "utf8").replace(
      "file: data/boarding-school-flu.csv",
      "file: models/examples/data/boarding-school-flu.csv",
    );
    // A scenario named with markup: the loader refuses the name, and the tab says the model does not load.
    const named = flu.replace("\n  seir:\n", `\n  ${JSON.stringify(`seir ${a}`)}:\n`);
    await drop(page, `named ${c}.yaml`, named);
    await page.waitForFunction(
      () => (document.getElementById("diagnostics")?.textContent ?? "").includes("error"),
      null,
      { timeout: 30_000 },
    );
    expect(await page.textContent("#diagnostics")).toContain("scenario 'seir <img src=x onerror=");
    await page.waitForFunction(
      () => /does not load/.test(document.getElementById("weigh-choices")?.textContent ?? ""),
      null,
      { timeout: 30_000 },
    );
    // Markup in the title, the scenarios' docs and the file's name: shown as text, and the weighing runs.
    const docs = flu
      .replace(/^name: .*$/m, `name: ${JSON.stringify(`flu ${b}`)}`)
      .replace(/doc: "Thesis A:[^\n]*/, `doc: ${JSON.stringify(`A ${a} ${d}`)}`)
      .replace(/doc: "Thesis B:[^\n]*/, `doc: ${JSON.stringify(`B ${c}`)}`);
    await drop(page, `docs ${b}.yaml`, docs);
    await page.waitForFunction(
      () => (document.getElementById("weigh-scenarios")?.textContent ?? "").includes("A <img"),
      null,
      { timeout: 30_000 },
    );
    expect(await page.textContent("#weigh-scenarios")).toContain(`B ${c}`);
    await page.fill("#weigh-iterations", "100");
    await page.click("#weigh-run");
    await nextWeighing(page, 0);
    expect(await page.locator("#weigh-table tbody tr").count()).toBe(2);
    // A data file the page does not have: the problem at its line, as text.
    await drop(
      page,
      `missing ${a}.yaml`,
      docs.replace(
        "file: models/examples/data/boarding-school-flu.csv",
        `file: ${JSON.stringify(`data/${b}/boarding-school-flu.csv`)}`,
      ),
    );
    await page.waitForFunction(
      () => (document.getElementById("weigh-scenarios")?.textContent ?? "").includes("A <img"),
      null,
      { timeout: 30_000 },
    );
    await page.click("#weigh-run");
    await page.waitForFunction(
      () => /cannot read/.test(document.getElementById("status")?.textContent ?? ""),
      null,
      {
        timeout: 30_000,
      },
    );
    expect(await page.textContent("#status")).toContain(`data/${b}/boarding-school-flu.csv`);
    expect(await page.evaluate(() => document.body.dataset.xss)).toBeUndefined();
    expect(await page.locator("#panel-weigh img, #panel-weigh script, #status *").count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
