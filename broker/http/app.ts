/**
 * The hono app of the HTTP API: one route group per file, a middleware that
 * counts every request into the metrics, and one error boundary that turns a
 * client mistake ({@linkcode HttpError}) into its status and a
 * `{error_code, message}` body in JSON or CBOR, and anything else into a
 * logged 500. Before any route, `accessMiddleware` answers 401 to a caller
 * without valid credentials when authentication is on (`access.ts`). The
 * app only routes; the runtime serves it through `Runtime.serveHttp` with
 * `app.fetch`.
 *
 * @module
 */
import { Hono } from "hono";
import { accessMiddleware, type HttpSecurity, OPEN_HTTP_SECURITY } from "./access.ts";
import { errorResponse, HttpError, HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { formatOf } from "./route_util.ts";
import { consoleRoutes } from "./routes_console.ts";
import { brokerRoutes } from "./routes_brokers.ts";
import { clusterRoutes } from "./routes_cluster.ts";
import { groupRoutes } from "./routes_groups.ts";
import { opsRoutes } from "./routes_ops.ts";
import { recordRoutes } from "./routes_records.ts";
import { tailRoutes } from "./routes_tail.ts";
import { topicRoutes } from "./routes_topics.ts";
import { transactionRoutes } from "./routes_transactions.ts";
import type { ThroughputHistory } from "./throughput.ts";

/** Builds the app over one broker; `security` authenticates and authorizes every route. */
export function createHttpApp(
  ctx: HttpContext,
  history: ThroughputHistory,
  security: HttpSecurity = OPEN_HTTP_SECURITY,
): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const startedMs = performance.now();
    await next();
    const route = c.req.routePath;
    ctx.metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    ctx.metrics.httpRequestSeconds.observe((performance.now() - startedMs) / 1000, { route });
  });
  app.use("*", accessMiddleware(security));
  opsRoutes(app, ctx, history, !security.opsAuthRequired);
  topicRoutes(app, ctx);
  tailRoutes(app, ctx);
  recordRoutes(app, ctx);
  groupRoutes(app, ctx);
  clusterRoutes(app, ctx);
  brokerRoutes(app, ctx);
  transactionRoutes(app, ctx);
  consoleRoutes(app);
  app.notFound((c) =>
    errorResponse(
      formatOf(c),
      new HttpError(
        404,
        HttpErrorCode.NOT_FOUND,
        `No route for ${c.req.method} "${new URL(c.req.url).pathname}".`,
      ),
    )
  );
  app.onError((error, c) => {
    if (error instanceof HttpError) return errorResponse(formatOf(c), error);
    const message = `HTTP ${c.req.method} ${c.req.url} failed: ${error.stack ?? error}`;
    ctx.broker.logLimiter.error("http-failed", message); // a client may repeat what fails
    return errorResponse(
      formatOf(c),
      new HttpError(500, HttpErrorCode.INTERNAL, "The broker failed to answer; see its log."),
    );
  });
  return app;
}
