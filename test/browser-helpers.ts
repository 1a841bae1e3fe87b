import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { expect } from "vitest";
import { serveApp, WEB_ROOT } from "../src/node/serve.js";
import { ROOT } from "./helpers.js";

// What the browser tests share: Debian's Chromium (installed by .ci/run; the tests are required there, not
// skipped), launched headless, and the built app served by `brink serve`'s server.

export const CHROMIUM = process.env.BRINK_CHROMIUM ?? "/usr/bin/chromium";
/** Where browser tests leave screenshots and pages for a person to look at. */
export const SCREENSHOTS = join(ROOT, "test-output");

/** Headless Chromium with the flags CI needs, plus any of the caller's; fails (not skips) when it is missing. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`).toBe(true);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", ...extraArgs],
  });
}

/** The built app (npm run build) on a free port, and Chromium to drive it. */
export async function serveAppInChromium(): Promise<{ server: Server; url: string; browser: Browser }> {
  expect(existsSync(join(WEB_ROOT, "index.html")), "run npm run build first").toBe(true);
  const { server, url } = await serveApp(0);
  return { server, url, browser: await launchChromium() };
}
