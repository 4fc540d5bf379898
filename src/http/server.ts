import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Logger } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";

export interface HttpServiceOptions {
  /** Anything with Hono's fetch signature (the app from createApp). */
  app: { fetch: (request: Request, ...rest: never[]) => Response | Promise<Response> };
  host: string;
  /** 0 = any free port (tests); the real one is passed to onListening. */
  port: number;
  log: Logger;
  onListening?: (url: string) => void;
  /** After the signal aborts, idle keep-alive sockets are closed at once and
   * in-flight requests get this long to finish before their sockets are destroyed. */
  drainTimeoutMs?: number;
}

/**
 * The HTTP server as a lifecycle Service: `run(signal)` listens until the
 * signal aborts, then stops accepting connections, lets in-flight requests
 * finish (bounded by drainTimeoutMs) and resolves once the server is closed.
 * A listen failure (port in use) rejects run().
 */
export function createHttpService(opts: HttpServiceOptions): Service {
  return {
    name: "http",
    run: (signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          resolve();
          return;
        }
        const server = serve(
          {
            fetch: opts.app.fetch as (request: Request) => Response | Promise<Response>,
            hostname: opts.host,
            port: opts.port,
          },
          (info: AddressInfo) => {
            const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
            const url = `http://${host}:${info.port}`;
            opts.log.info({ component: "http", url }, "http server listening");
            opts.onListening?.(url);
          },
        );
        server.once("error", (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        });
        const onAbort = () => {
          opts.log.info({ component: "http" }, "http server draining");
          const timer = setTimeout(() => {
            if ("closeAllConnections" in server) server.closeAllConnections();
          }, opts.drainTimeoutMs ?? 10_000);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            opts.log.info({ component: "http" }, "http server closed");
            resolve();
          });
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }),
  };
}
