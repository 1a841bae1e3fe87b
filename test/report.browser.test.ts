import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { htmlReport } from "../src/node/report.js";
import { closeWorkers } from "../src/node/simulate.js";
import { renderHtml, tableCsv, tableJson } from "../src/report/html.js";
import { launchChromium, SCREENSHOTS as OUT } from "./browser-helpers.js";
import { ROOT } from "./helpers.js";

const FLAGSHIP = join(ROOT, "models", "flagship", "flagship.yaml");

afterAll(() => closeWorkers());

describe("the HTML report", () => {
  it("fits a 375 px screen with long unbroken metadata (paths, hashes, commands)", async () => {
    const path = `/home/analyst/${"a_very_long_folder_name_without_any_break_".repeat(4)}/model.yaml`;
    const html = renderHtml({
      title: "A report",
      subtitle: path,
      sections: [{ title: "Nothing", intro: "Only metadata.", charts: [], tables: [] }],
      metadata: {
        model: path,
        "model hash": "f".repeat(120),
        command: `brink report ${path} --posterior ${path.replace("model.yaml", "posterior.json")} -o out.html`,
        "a rather long metadata key_without_spaces_in_it_at_all": "1",
      },
    });
    const browser = await launchChromium();
    try {
      for (const width of [375, 800]) {
        const page = await browser.newPage({ viewport: { width, height: 700 } });
        await page.setContent(html);
        const fit = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          // Text sticking out of its own box does not widen the page, but is cut off all the same.
          overflowing: [...document.querySelectorAll("body *")]
            .filter(
              (el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible",
            )
            .map((el) => `${el.tagName} ${el.scrollWidth}>${el.clientWidth} ${el.textContent?.slice(0, 30)}`),
        }));
        expect(fit.scrollWidth, `page width at ${width} px`).toBeLessThanOrEqual(fit.innerWidth);
        expect(fit.overflowing, `boxes overflowing at ${width} px`).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  it("exports tables as CSV and JSON", () => {
    const t = {
      id: "t",
      title: "T",
      columns: ["a", "b"],
      rows: [
        ["x, y", 1],
        ['say "hi"', null],
      ] as (string | number | null)[][],
    };
    expect(tableCsv(t)).toBe('a,b\n"x, y",1\n"say ""hi""",');
    expect(JSON.parse(tableJson(t))).toEqual([
      { a: "x, y", b: 1 },
      { a: 'say "hi"', b: null },
    ]);
  });

  it("renders in headless Chromium without errors, every chart drawn, nothing fetched", async () => {
    const html = await htmlReport(
      { file: FLAGSHIP, text: readFileSync(FLAGSHIP, "utf8") },
      { runs: 400, samples: 16, replicates: 1 },
    );
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, "flagship-report.html");
    writeFileSync(file, html);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
    const browser = await launchChromium([
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ]);
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
      });
      await page.goto(`file://${file}`);
      const charts = await page.$$eval("figure.chart", (figs) =>
        figs.map((f) => {
          const svg = f.querySelector("svg");
          const box = svg?.getBoundingClientRect();
          return {
            id: f.id,
            drawn:
              !!svg &&
              !!box &&
              box.width > 100 &&
              box.height > 50 &&
              svg.querySelectorAll("path, rect, line").length > 5,
          };
        }),
      );
      expect(charts.length).toBeGreaterThanOrEqual(10);
      for (const c of charts) expect(c.drawn, c.id).toBe(true);
      expect(await page.$$eval("figure.table table", (t) => t.length)).toBeGreaterThanOrEqual(6);
      expect(await page.textContent("body")).toMatch(/holds|fails|undecided/);
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      await page.screenshot({ path: join(OUT, "report-top.png") });
      await page.screenshot({ path: join(OUT, "report-full.png"), fullPage: true });
      await page.locator("#chart-incidence").screenshot({ path: join(OUT, "report-incidence.png") });
    } finally {
      await browser.close();
    }
  });
});
