import { defineConfig } from "vite";

// Cross-origin isolation lets Web Workers share memory with the page (progress and stop without messages);
// `brink serve` sends the same headers.
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  root: "src/web",
  base: "./",
  build: { outDir: "../../dist/web", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 4000 },
  worker: { format: "es" },
  // Observation data (the weigh tab) are parsed by csv-parse, whose Node build needs Buffer: the page takes its
  // browser build, the same parser.
  resolve: { alias: [{ find: /^csv-parse\/sync$/, replacement: "csv-parse/browser/esm/sync" }] },
  server: { headers: isolation },
  preview: { headers: isolation },
});
