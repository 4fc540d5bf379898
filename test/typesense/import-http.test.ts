import { createServer as createHttpServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTypesenseBackend,
  type TypesenseBackend,
  TypesenseError,
} from "../../src/typesense/index.js";
import { closedPort } from "../support/net.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";

/*
 * Imports go through node:http with a Buffer body (http.ts #requestBuffer),
 * the other calls through fetch: the same failover, timeout, abort, close and
 * error rules must hold on this path.
 */

const ts = useTypesense();
let backend: TypesenseBackend;
const line = (o: object) => Buffer.from(JSON.stringify(o));

beforeAll(() => {
  backend = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 5_000 });
});
afterAll(async () => {
  await backend.close();
});

async function freshCollection(): Promise<string> {
  const name = ts.uniqueName("ih");
  await backend.createCollection({ name, fields: [{ name: "title", type: "string" }] });
  return name;
}

/** An HTTP server whose handler decides what to do with each request. */
async function fakeNode(
  handle: Parameters<typeof createHttpServer>[1],
): Promise<{ url: string; server: Server }> {
  const server = createHttpServer(handle);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}

describe("importJsonLines (node:http, Buffer body)", () => {
  it("returns one result per line in order; rejected lines carry the caller's id", async () => {
    const c = await freshCollection();
    const res = await backend.importJsonLines(
      c,
      [line({ id: "a", title: "x" }), line({ id: "b", title: 5 }), line({ id: "c", title: "✓" })],
      ["a", "b", "c"],
      { action: "upsert" },
    );
    expect(res.map((r) => [r.id, r.ok])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ]);
    expect(res[1]).toMatchObject({ ok: false, code: 400 });
    const docs = await backend.getDocuments(c, ["a", "c"]);
    expect(docs.get("c")?.title).toBe("✓");
  });

  it("fails over from an unreachable node (nothing was sent)", async () => {
    const dead = await closedPort();
    const multi = createTypesenseBackend({
      nodes: [dead, ts.url],
      apiKey: ts.apiKey,
      timeoutMs: 5_000,
    });
    const c = await freshCollection();
    for (let i = 0; i < 2; i++) {
      const r = await multi.importJsonLines(c, [line({ id: `${i}`, title: "t" })], [`${i}`], {
        action: "upsert",
      });
      expect(r).toEqual([{ ok: true, id: `${i}` }]);
    }
    await multi.close();
  });

  itEmulatorOnly("a 503 is a retryable server error", async () => {
    const c = await freshCollection();
    ts.emulator?.faults.failNext({
      path: "*/documents/import",
      status: 503,
      body: { message: "Not Ready or Lagging" },
    });
    const err = await backend
      .importJsonLines(c, [line({ id: "1", title: "t" })], ["1"], { action: "upsert" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypesenseError);
    expect(err).toMatchObject({ status: 503, kind: "server", retryable: true });
  });

  it("times out a silent node, aborts on the caller's signal and on close(), and reports a reset", async () => {
    const held: Array<() => void> = [];
    const silent = await fakeNode((req, res) => {
      req.resume();
      held.push(() => res.destroy());
    });
    const body = [line({ id: "1" })];
    const b = createTypesenseBackend({ nodes: [silent.url], apiKey: "k", timeoutMs: 200 });
    const timeout = await b
      .importJsonLines("c", body, ["1"], { action: "upsert" })
      .catch((e: unknown) => e);
    expect(timeout).toMatchObject({ kind: "timeout", retryable: true });

    const ctl = new AbortController();
    const aborted = b
      .importJsonLines("c", body, ["1"], {
        action: "upsert",
        signal: ctl.signal,
        timeoutMs: 10_000,
      })
      .catch((e: unknown) => e);
    setTimeout(() => ctl.abort(new Error("stop now")), 50);
    expect(await aborted).toMatchObject({ message: "stop now" });

    const closing = b
      .importJsonLines("c", body, ["1"], { action: "upsert", timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    setTimeout(() => void b.close(), 50);
    expect(await closing).toMatchObject({ message: "Typesense backend closed" });

    // a node that cuts the connection mid-answer: retryable network error
    const cutting = await fakeNode((req, res) => {
      req.resume();
      res.writeHead(200, { "Content-Length": "1000" });
      res.write('{"success":true}');
      setTimeout(() => res.destroy(), 20);
    });
    const c2 = createTypesenseBackend({ nodes: [cutting.url], apiKey: "k", timeoutMs: 5_000 });
    const reset = await c2
      .importJsonLines("c", body, ["1"], { action: "upsert" })
      .catch((e: unknown) => e);
    expect(reset).toMatchObject({ kind: "network", retryable: true });
    await c2.close();
    for (const h of held) h();
    await new Promise<void>((r) => silent.server.close(() => r()));
    await new Promise<void>((r) => cutting.server.close(() => r()));
  });
});
