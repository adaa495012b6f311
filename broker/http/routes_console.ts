/**
 * The web console: `GET /` serves the page, `/console/app.js` and
 * `/console/style.css` its script and style. The assets are TypeScript
 * string modules, so `bun build --compile` and `deno compile` carry them
 * inside the binary; nothing is fetched from the internet.
 *
 * @module
 */
import type { Hono } from "hono";
import { CONSOLE_JS } from "./console/app_js.ts";
import { CONSOLE_HTML } from "./console/index_html.ts";
import { CONSOLE_CSS } from "./console/style_css.ts";

function asset(body: string, type: string): () => Response {
  return () =>
    new Response(body, { headers: { "content-type": type, "cache-control": "no-cache" } });
}

/** Mounts the console's page and assets. */
export function consoleRoutes(app: Hono): void {
  app.get("/", asset(CONSOLE_HTML, "text/html; charset=utf-8"));
  app.get("/console/app.js", asset(CONSOLE_JS, "text/javascript; charset=utf-8"));
  app.get("/console/style.css", asset(CONSOLE_CSS, "text/css; charset=utf-8"));
}
