import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Hono } from "hono";
import type { ConsoleEnv } from "./context.js";
import { CONSOLE_CSS } from "./styles.js";

const require = createRequire(import.meta.url);

/**
 * Static files of the console, from our own origin (no CDN): the stylesheet
 * and htmx, read from node_modules (a runtime dependency) on first use.
 * Pages work without them; htmx only adds live refresh and search-as-you-type.
 */
export function assetRoutes(r: Hono<ConsoleEnv>): void {
  let htmx: Promise<string> | undefined;
  const cache = { "cache-control": "public, max-age=3600" };
  r.get("/assets/console.css", (c) =>
    c.body(CONSOLE_CSS, 200, { ...cache, "content-type": "text/css; charset=utf-8" }),
  );
  r.get("/assets/htmx.min.js", async (c) => {
    htmx ??= readFile(require.resolve("htmx.org/dist/htmx.min.js"), "utf8").catch((e) => {
      htmx = undefined; // try again on the next request
      throw e;
    });
    return c.body(await htmx, 200, {
      ...cache,
      "content-type": "text/javascript; charset=utf-8",
    });
  });
}
