import { describe, expect, it } from "vitest";
import { createTypesenseBackend, TypesenseError } from "../../src/typesense/index.js";
import { useHostileBackends } from "../support/hostile-backend.js";

const KEY = "typesense-key-that-must-stay-home";
const s = useHostileBackends();
const backendAt = (url: string) =>
  createTypesenseBackend({ nodes: [url], apiKey: KEY, timeoutMs: 2000 });

async function failure(p: Promise<unknown>): Promise<TypesenseError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TypesenseError);
  return e as TypesenseError;
}

describe("a backend that is not Typesense: no redirect followed, no remote body passed on", () => {
  it("a redirect is an error naming the status, on fetch and node:http calls and /health; the key never reaches the redirect's target", async () => {
    const b = backendAt(s.redirect.url);
    const list = await failure(b.listCollections());
    expect(list).toMatchObject({ kind: "reply", status: 302, retryable: false });
    expect(list.message).toMatch(/redirect \(HTTP 302\)/);
    // a Buffer body: the node:http path
    const imp = await failure(b.importDocuments("c", [{ id: "1" }], { action: "upsert" }));
    expect(imp).toMatchObject({ kind: "reply", status: 302, retryable: false });
    const search = await failure(b.search("c", { q: "*" }));
    expect(search).toMatchObject({ kind: "reply", status: 302 });
    const health = await b.health();
    expect(health.ok).toBe(false);
    expect(health.nodes[0]?.error).toMatch(/HTTP 302/);
    await b.close();
    expect(s.redirect.seen.length).toBeGreaterThanOrEqual(4);
    expect(s.target.seen).toEqual([]);
  });

  it("an HTML page (200 or 500) is a reply error or a status; its text is never in the error", async () => {
    const b = backendAt(s.html.url);
    const list = await failure(b.listCollections());
    expect(list).toMatchObject({ kind: "reply", status: 200 });
    expect(await failure(b.getCollection("c"))).toMatchObject({ kind: "reply" });
    expect(
      await failure(b.importDocuments("c", [{ id: "1" }], { action: "upsert" })),
    ).toMatchObject({
      kind: "reply",
    });
    // a streamed export answered with the page: a reply error, not the JSON parser's quote of it
    const drain = async () => {
      for await (const _d of b.iterateDocuments("c")) {
        // the first line fails
      }
    };
    const exported = await failure(drain());
    expect(exported).toMatchObject({ kind: "reply", status: 200 });
    const health = await b.health();
    expect(health.ok).toBe(false);
    const errors = [list.message, exported.message, health.nodes[0]?.error ?? ""];
    const b500 = backendAt(s.htmlError.url);
    const e500 = await failure(b500.listCollections());
    expect(e500).toMatchObject({ kind: "server", status: 500 });
    errors.push(e500.message);
    for (const m of errors) expect(m).not.toMatch(/hunter2|<html>/);
    await b.close();
    await b500.close();
  });

  it("a non-array /collections and an empty body are reply errors, not crashes", async () => {
    const a = backendAt(s.nonArray.url);
    const e = await failure(a.listCollections());
    expect(e).toMatchObject({ kind: "reply", status: 200 });
    expect(e.message).toMatch(/not a list of collections/);
    expect(e.message).not.toMatch(/hunter2/);
    const empty = backendAt(s.empty.url);
    expect(await failure(empty.listCollections())).toMatchObject({ kind: "reply" });
    expect(await failure(empty.getCollection("c"))).toMatchObject({ kind: "reply" });
    await a.close();
    await empty.close();
  });

  it("a Typesense-shaped error passes on its message cut to 200 characters", async () => {
    const b = backendAt(s.longError.url);
    const e = await failure(b.listCollections());
    expect(e).toMatchObject({ kind: "rejected", status: 400 });
    expect(e.message).toBe("m".repeat(200));
    await b.close();
  });
});
