import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostAllowed, serveApp } from "../src/node/serve.js";

/** A raw request (fetch would normalise the path and refuse to set Host). */
function raw(
  port: number,
  options: { method?: string; path?: string; host?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: { host: options.host ?? `127.0.0.1:${port}` },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("brink serve answers hostile requests with a status, never a crash or a foothold", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serveApp>>["server"];
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "brink-serve-"));
    const app = join(dir, "app");
    mkdirSync(join(app, "assets"), { recursive: true });
    writeFileSync(join(app, "index.html"), "<!doctype html><title>app</title>");
    writeFileSync(join(app, "assets", "a.js"), "export {};");
    writeFileSync(join(dir, "secret.txt"), "outside the app folder");
    symlinkSync(join(dir, "secret.txt"), join(app, "leak.txt"));
    symlinkSync(join(app, "assets", "a.js"), join(app, "alias.js"));
    const started = await serveApp(0, "127.0.0.1", app);
    server = started.server;
    port = Number(new URL(started.url).port);
  });

  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a malformed escape (GET /%) is 400 and the server keeps serving", async () => {
    expect((await raw(port, { path: "/%" })).status).toBe(400);
    expect((await raw(port, { path: "/%E0%A4%A" })).status).toBe(400);
    expect((await raw(port, { path: "/a%00b" })).status).toBe(400);
    expect((await raw(port, {})).status).toBe(200);
  });

  it("methods other than GET and HEAD are 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "TRACE"]) {
      const r = await raw(port, { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe("GET, HEAD");
    }
    const head = await raw(port, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it("a symlink leading out of the app folder is not followed; one inside it is", async () => {
    const leak = await raw(port, { path: "/leak.txt" });
    expect(leak.status).toBe(404);
    expect(leak.body).not.toContain("outside the app folder");
    expect((await raw(port, { path: "/alias.js" })).status).toBe(200);
    expect((await raw(port, { path: "/..%2fsecret.txt" })).status).toBe(403);
  });

  it("a Host that is not this server's address is refused (DNS rebinding)", async () => {
    expect((await raw(port, { host: `attacker.example:${port}` })).status).toBe(421);
    expect((await raw(port, { host: `127.0.0.1:${port + 1}` })).status).toBe(421);
    expect((await raw(port, { host: `localhost:${port}` })).status).toBe(200);
    expect((await raw(port, { host: `127.0.0.1:${port}` })).status).toBe(200);
  });

  it("every answer carries the Content-Security-Policy and nosniff", async () => {
    for (const path of ["/", "/assets/a.js", "/missing", "/%"]) {
      const r = await raw(port, { path });
      const csp = String(r.headers["content-security-policy"]);
      expect(csp, path).toMatch(/(^|; )default-src 'self'(;|$)/);
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      expect(csp, path).toMatch(/object-src 'none'/);
      // No inline script: script-src names no 'unsafe-inline', nonce or hash.
      const script = /script-src ([^;]*)/.exec(csp)?.[1] ?? "";
      expect(script, path).not.toMatch(/unsafe-inline|nonce-|sha256-/);
      expect(r.headers["x-content-type-options"], path).toBe("nosniff");
      // Only scripts may evaluate code (the Web Workers compile kernels); the page may not.
      if (path.endsWith(".js") && r.status === 200) expect(script, path).toContain("'unsafe-eval'");
      else expect(script, path).not.toContain("unsafe-eval");
    }
  });
});

describe("hostAllowed", () => {
  it("accepts the bound address and loopback names on the bound port only", () => {
    expect(hostAllowed("127.0.0.1:8080", "127.0.0.1", 8080)).toBe(true);
    expect(hostAllowed("LOCALHOST:8080", "127.0.0.1", 8080)).toBe(true);
    expect(hostAllowed("[::1]:8080", "::1", 8080)).toBe(true);
    expect(hostAllowed("localhost", "127.0.0.1", 80)).toBe(true);
    expect(hostAllowed(undefined, "127.0.0.1", 8080)).toBe(false);
    expect(hostAllowed("rebind.example:8080", "127.0.0.1", 8080)).toBe(false);
    expect(hostAllowed("localhost:8081", "127.0.0.1", 8080)).toBe(false);
    // Bound to every interface: IP literals (other machines reach it by address), still no DNS names.
    expect(hostAllowed("192.0.2.7:8080", "0.0.0.0", 8080)).toBe(true);
    expect(hostAllowed("rebind.example:8080", "0.0.0.0", 8080)).toBe(false);
    // Bound to one other address: loopback names are not that address.
    expect(hostAllowed("localhost:8080", "192.0.2.7", 8080)).toBe(false);
  });
});
