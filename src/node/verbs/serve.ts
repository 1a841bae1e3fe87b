import { terminalSafe } from "../terminal.js";
import { EXIT_BAD_MODEL, EXIT_USAGE, type Verb } from "./shared.js";

export const serve: Verb = {
  name: "serve",
  register(program, { io, exit }) {
    program
      .command("serve")
      .description("serve the browser app on localhost (the flagship opens; models run in your browser)")
      .option("--port <n>", "port (0: any free port)", "8080")
      .option("--host <address>", "address to listen on", "127.0.0.1")
      .action(async (opts: { port: string; host: string }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          io.err(terminalSafe(`brink serve: --port must be a port number, not '${opts.port}'\n`));
          exit(EXIT_USAGE);
          return;
        }
        try {
          const { serveApp } = await import("../serve.js");
          const { server, url } = await serveApp(port, opts.host);
          io.out(terminalSafe(`Brink is running at ${url} (Ctrl-C to stop)\n`));
          await new Promise((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          server.close();
          server.closeAllConnections();
        } catch (e) {
          io.err(terminalSafe(`brink serve: ${e instanceof Error ? e.message : String(e)}\n`));
          exit(EXIT_BAD_MODEL);
        }
      });
  },
};
