import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";

/** Text that a hostile or misconfigured "backend" answers and that must never be echoed. */
export const SECRET_PAGE = "<html><body>internal admin page: db-password=hunter2</body></html>";

/** A local HTTP server standing in for a node that is not (or not only) Typesense. */
export interface HostileServer {
  readonly url: string;
  /** Every request it received: method, url and the Typesense key header if one was sent. */
  readonly seen: Array<{ method: string; url: string; apiKey: string | undefined }>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const send = (res: ServerResponse, status: number, type: string, body: string) => {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
};

/** Answers 200 `[]` / `{"ok":true}` and records who called (the redirect's target). */
export const recorder: Handler = (req, res) =>
  send(res, 200, "application/json", req.url === "/health" ? '{"ok":true}' : "[]");

/** Answers an HTML page with 200 for every path (a proxy's login page, an intranet site). */
export const htmlPage: Handler = (_req, res) => send(res, 200, "text/html", SECRET_PAGE);

/** Healthy, but GET /collections is an object, not Typesense's array. */
export const nonArrayCollections: Handler = (req, res) =>
  req.url === "/health"
    ? send(res, 200, "application/json", '{"ok":true}')
    : send(res, 200, "application/json", JSON.stringify({ secret: SECRET_PAGE }));

/** Healthy, but every other path answers 200 with an empty body. */
export const emptyBody: Handler = (req, res) =>
  req.url === "/health"
    ? send(res, 200, "application/json", '{"ok":true}')
    : send(res, 200, "application/json", "");

/** Every path redirects (302) to the same path on `target()`. */
export function redirectTo(target: () => string): Handler {
  return (req, res) => {
    res.writeHead(302, { location: `${target()}${req.url ?? "/"}`, "content-length": 0 });
    res.end();
  };
}

/**
 * Starts one local server per handler in beforeAll (random ports), closes them
 * in afterAll. Getters throw when read before beforeAll ran.
 */
export function useHostileServers<K extends string>(
  handlers: Record<K, Handler>,
): Record<K, HostileServer> {
  const out = {} as Record<K, HostileServer>;
  const closers: Array<() => Promise<void>> = [];
  for (const name of Object.keys(handlers) as K[]) {
    const state: { url?: string; seen: HostileServer["seen"] } = { seen: [] };
    out[name] = {
      get url() {
        if (!state.url) throw new Error(`hostile server ${name} read before beforeAll ran`);
        return state.url;
      },
      seen: state.seen,
    };
    beforeAll(async () => {
      const server = createServer((req, res) => {
        const key = req.headers["x-typesense-api-key"];
        state.seen.push({
          method: req.method ?? "GET",
          url: req.url ?? "/",
          apiKey: key === undefined ? undefined : String(key),
        });
        req.resume();
        req.on("end", () => handlers[name](req, res));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      closers.push(
        () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      );
    });
  }
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });
  return out;
}

/** A Typesense-shaped 400 whose message is long and ends in the secret page. */
export const longError: Handler = (_req, res) =>
  send(
    res,
    400,
    "application/json",
    JSON.stringify({ message: `${"m".repeat(300)}${SECRET_PAGE}` }),
  );

/** An HTML page with 500 (a proxy's error page). */
export const htmlError: Handler = (_req, res) => send(res, 500, "text/html", SECRET_PAGE);

/**
 * The set the SSRF tests drive: `target` records whether the Typesense key
 * reached it, `redirect` sends every request there with a 302, the others
 * answer as their handler's name says.
 */
export function useHostileBackends() {
  const { target } = useHostileServers({ target: recorder });
  return {
    target,
    ...useHostileServers({
      redirect: redirectTo(() => target.url),
      html: htmlPage,
      nonArray: nonArrayCollections,
      empty: emptyBody,
      longError,
      htmlError,
    }),
  };
}
