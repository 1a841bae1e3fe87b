import { z } from "zod";

/**
 * zod probes for `new Function` to speed up object parsing; the page runs under a Content-Security-Policy
 * without 'unsafe-eval' (docs/security.md), where the probe would be reported as a violation. Imported first by
 * main.ts, before any module that parses with zod.
 */
z.config({ jitless: true });
