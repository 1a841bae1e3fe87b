import { describe, expect, it } from "vitest";
import { brink, freePort } from "./cli-helpers.js";

// An unreachable Redis (no redis-server needed): the verbs end with a clean message and exit code, neither a
// stack trace nor a hang while the clients retry a connection that never comes.

describe("--redis with no Redis there", () => {
  it("a verb that fails before submitting says why and exits, and one that submits gives up cleanly", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const [nothingToVary, run] = await Promise.all([
      brink("sensitivity", "models/examples/sir.yaml", "--redis", url),
      brink("run", "models/examples/sir.yaml", "--runs", "10", "--redis", url),
    ]);
    expect(nothingToVary.status).toBe(2);
    expect(nothingToVary.stderr).toContain("nothing to vary");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`brink: cannot reach Redis at ${url}`);
    for (const r of [nothingToVary, run]) expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 45_000);
});
