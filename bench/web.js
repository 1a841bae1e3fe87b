// Browser vs Node throughput: runs per second of the flagship on one Web Worker in Chromium (the built app's
// `?bench=RUNS` page) against one Node worker thread, measured in the same session. Part of `npm run bench`;
// the goal is the browser within 1.5× of Node.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serveApp } from "../dist/node/serve.js";
import { closeWorkers, simulate } from "../dist/node/simulate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env.BRINK_CHROMIUM ?? "/usr/bin/chromium";
const RUNS = Number(process.env.BRINK_BENCH_WEB_RUNS ?? 20_000);
const file = join(ROOT, "models", "flagship", "flagship.yaml");
const input = { file, text: readFileSync(file, "utf8") };

async function nodeRate() {
  const options = { runs: RUNS, seed: 1, workers: 1, threads: true, ownClaims: false };
  await simulate(input, { ...options, runs: 2000, seed: 2 });
  const started = performance.now();
  await simulate(input, options);
  return RUNS / ((performance.now() - started) / 1000);
}

async function browserRate() {
  const { server, url } = await serveApp(0);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}?bench=${RUNS}`);
    await page.waitForFunction(() => document.body.dataset.bench, null, { timeout: 600_000 });
    return Number(await page.evaluate(() => document.body.dataset.bench));
  } finally {
    await browser.close();
    server.close();
  }
}

// Alternate, so that neither side always runs on a warmer machine.
const node1 = await nodeRate();
const web1 = await browserRate();
const node2 = await nodeRate();
const web2 = await browserRate();
await closeWorkers();
const node = Math.max(node1, node2);
const web = Math.max(web1, web2);
console.log(`\nBrowser vs Node, flagship, one worker, ${RUNS.toLocaleString("en")} runs (best of two each):`);
console.log(`  Node worker thread: ${Math.round(node).toLocaleString("en")} runs/s`);
console.log(`  Chromium Web Worker: ${Math.round(web).toLocaleString("en")} runs/s`);
console.log(`  Node / browser = ${(node / web).toFixed(2)}× (goal: within 1.5×)`);
