import { existsSync, realpathSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { PACKAGE_ROOT } from "./files.js";

/** Where `npm run build` puts the browser app. */
export const WEB_ROOT = join(PACKAGE_ROOT, "dist", "web");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/**
 * What the page may load and run. No inline script, no eval and no other origin: a name smuggled into the page
 * as markup cannot run. Inline styles: CodeMirror inserts a `<style>` element and the SVG charts set style
 * attributes. The icon is a `data:` URL. (docs/security.md)
 */
export const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The policy of JavaScript answers. A dedicated worker runs under the policy sent with its own script (CSP 3),
 * and the Web Workers compile each model to a kernel with `new Function` — source generated from the checked
 * program, never from model text (docs/architecture.md, Safety) — so scripts allow 'unsafe-eval'. Modules the
 * page imports keep the page's policy, so the page itself still cannot evaluate code.
 */
export const SCRIPT_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS = {
  "Content-Security-Policy": PAGE_POLICY,
  // Cross-origin isolation lets the page's workers share memory (progress and stop without a message round trip).
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether a request's Host header names this server. A page elsewhere can point a DNS name of its own at
 * 127.0.0.1 (DNS rebinding) and then read the app as same-origin; such a request carries that name as its Host,
 * so only the bound address, loopback names (when bound to loopback or everything) and, when bound to every
 * interface, IP literals are accepted — never another DNS name — and always with the bound port.
 */
export function hostAllowed(hostHeader: string | undefined, boundHost: string, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(hostHeader.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  if ((m[2] === undefined ? 80 : Number(m[2])) !== port) return false;
  const bound =
    boundHost.includes(":") && !boundHost.startsWith("[") ? `[${boundHost}]` : boundHost.toLowerCase();
  if (name === bound) return true;
  const wildcard = boundHost === "0.0.0.0" || boundHost === "::";
  const loopback = /^127\./.test(boundHost) || boundHost === "::1" || boundHost === "localhost";
  if ((wildcard || loopback) && LOOPBACK_NAMES.has(name)) return true;
  return wildcard && isIP(name.replace(/^\[|\]$/g, "")) !== 0;
}

function send(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...HEADERS, "Content-Type": "text/plain; charset=utf-8", ...extra }).end(text);
}

/** Answer one request for a file of the app; every failure is a status code, never a thrown error. */
async function handle(req: IncomingMessage, res: ServerResponse, root: string, host: string, port: number) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, "method not allowed", { Allow: "GET, HEAD" });
    return;
  }
  if (!hostAllowed(req.headers.host, host, port)) {
    send(res, 421, "this server answers only to its own address");
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    send(res, 400, "bad request");
    return;
  }
  if (path.includes("\0")) {
    send(res, 400, "bad request");
    return;
  }
  const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
  if (!file.startsWith(root + sep) && file !== root) {
    send(res, 403, "forbidden");
    return;
  }
  let real: string;
  try {
    // A symlink inside the app's folder must not lead out of it.
    real = await realpath(file);
    if (!real.startsWith(root + sep) || !(await stat(real)).isFile())
      throw new Error("outside or not a file");
  } catch {
    send(res, 404, "not found");
    return;
  }
  const body = await readFile(real);
  const type = TYPES[extname(file)] ?? "application/octet-stream";
  res.writeHead(200, {
    ...HEADERS,
    "Content-Type": type,
    ...(type.startsWith("text/javascript") ? { "Content-Security-Policy": SCRIPT_POLICY } : {}),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * Serve the built browser app on localhost. Nothing leaves the machine: the app fetches only its own files and
 * runs models in the page's Web Workers. Cross-origin isolation headers let those workers share memory.
 */
export function serveApp(
  port: number,
  host = "127.0.0.1",
  webRoot = WEB_ROOT,
): Promise<{ server: Server; url: string }> {
  if (!existsSync(join(webRoot, "index.html")))
    throw new Error(`the browser app is not built (no ${webRoot}); run npm run build`);
  const root = realpathSync(webRoot);
  let boundPort = port;
  const server = createServer((req, res) => {
    handle(req, res, root, host, boundPort).catch(() => {
      if (!res.headersSent) send(res, 500, "internal error");
      else res.destroy();
    });
  });
  // A malformed request line never reaches the handler; answer it instead of dropping the socket silently.
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      boundPort = typeof address === "object" && address ? address.port : port;
      const shown =
        host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
      resolve({ server, url: `http://${shown}:${boundPort}/` });
    });
  });
}
