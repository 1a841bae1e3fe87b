import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

/**
 * A classic published fit reproduced from its published data: BoxBOD (Box, Hunter & Hunter 1978, Statistics for
 * Experimenters, pp. 483–487), biochemical oxygen demand against incubation time, y = b1·(1 − exp(−b2·x)) + e,
 * whose least-squares coefficients NIST certifies (NIST/ITL StRD nonlinear regression, dataset BoxBOD). The model
 * (test/fixtures/boxbod) states the curve as a stock filling towards b1 at rate b2, with normal measurement noise:
 * its maximum likelihood is the least-squares fit.
 */
const CERTIFIED = { b1: 213.80940889, b2: 0.54723748542, rss: 1168.0088766 };
const MODEL = "test/fixtures/boxbod/boxbod.yaml";

/** The residual sum of squares of the published curve on the fixture's data, computed here in closed form. */
function rss(b1: number, b2: number): number {
  const rows = readFileSync(join(ROOT, "test/fixtures/boxbod/boxbod.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(",").map(Number) as [number, number]);
  return rows.reduce((s, [x, y]) => s + (y - b1 * (1 - Math.exp(-b2 * x))) ** 2, 0);
}

describe("a published fit: BoxBOD (NIST StRD certified values)", () => {
  it("the fixture is the published data: the certified coefficients give the certified residual sum of squares", () => {
    expect(rss(CERTIFIED.b1, CERTIFIED.b2)).toBeCloseTo(CERTIFIED.rss, 5);
  });

  it("brink calibrate --mle reproduces the certified coefficients within 1%", () => {
    const dir = mkdtempSync(join(tmpdir(), "brink-boxbod-"));
    try {
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, "bin", "brink.js"),
          "calibrate",
          MODEL,
          "--mle",
          "--chains",
          "2",
          "--iterations",
          "200",
          "--burn-in",
          "200",
          "--evidence-draws",
          "0",
          "--json",
          "-o",
          join(dir, "post.json"),
        ],
        { cwd: ROOT, encoding: "utf8" },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const post = JSON.parse(r.stdout) as {
        mle: { params: { b1: number; b2: number }; log_likelihood: number };
      };
      const { b1, b2 } = post.mle.params;
      expect(Math.abs(b1 / CERTIFIED.b1 - 1)).toBeLessThan(0.01);
      expect(Math.abs(b2 / CERTIFIED.b2 - 1)).toBeLessThan(0.01);
      // And its residual sum of squares is the certified minimum (no better fit was missed, none worse kept).
      expect(rss(b1, b2)).toBeGreaterThanOrEqual(CERTIFIED.rss - 1e-6);
      expect(rss(b1, b2) / CERTIFIED.rss - 1).toBeLessThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
