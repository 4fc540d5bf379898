import { Errors } from "typesense";
import { beforeEach, expect, it } from "vitest";
import { FAULT_BODIES } from "../../src/emulator/index.js";
import { describeEmulatorOnly, useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();
const IMPORT = "/collections/*/documents/import";

function emu() {
  const e = ts.emulator;
  if (!e) throw new Error("emulator-only test ran against a real server");
  return e;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describeEmulatorOnly("fault injection (issue 4)", () => {
  beforeEach(() => emu().faults.clear());

  it("a 503 Not Ready on import is retried by the official client and succeeds", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const before = emu().stats().faultsInjected;
    emu().faults.failNext({
      method: "POST",
      path: IMPORT,
      status: 503,
      body: FAULT_BODIES.notReady,
      times: 2,
    });
    const client = ts.makeClient({ numRetries: 3 });
    const res = await client
      .collections(name)
      .documents()
      .import([{ id: "a", t: "x" }], { action: "upsert" });
    expect(res).toEqual([{ success: true }]);
    expect(emu().stats().faultsInjected - before).toBe(2);
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(1);
  });

  it("the 503 body is exactly Typesense's and other paths are untouched", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    emu().faults.failNext({
      method: "POST",
      path: IMPORT,
      status: 503,
      body: FAULT_BODIES.notReady,
    });
    expect((await raw(ts, "GET", `/collections/${name}`)).status).toBe(200);
    const r = await importLines(ts, name, jsonl([{ t: "x" }]));
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ message: "Not Ready or Lagging" });
    expect((await importLines(ts, name, jsonl([{ t: "x" }]))).status).toBe(200);
  });

  it("429 is not retried by the client; 422 OOM surfaces as ObjectUnprocessable", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    emu().faults.failNext({ path: IMPORT, status: 429, body: FAULT_BODIES.rateLimited });
    const client = ts.makeClient({ numRetries: 3 });
    const e429 = await errorOf(
      client
        .collections(name)
        .documents()
        .import([{ t: "x" }]),
    );
    expect(e429).toBeInstanceOf(Errors.HTTPError);
    expect((e429 as { httpStatus: number }).httpStatus).toBe(429);
    emu().faults.failNext({ path: IMPORT, status: 422, body: FAULT_BODIES.outOfMemory });
    const e422 = await errorOf(
      client
        .collections(name)
        .documents()
        .import([{ t: "x" }]),
    );
    expect(e422).toBeInstanceOf(Errors.ObjectUnprocessable);
    expect((e422 as Error).message).toContain(
      "Rejecting write: running out of resource type: OUT_OF_MEMORY",
    );
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(0);
  });

  it("after=true applies the write, then fails: a retried create sees its own earlier write", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    emu().faults.failNext({ path: IMPORT, status: 500, after: true });
    const client = ts.makeClient({ numRetries: 2 });
    const err = await errorOf(
      client
        .collections(name)
        .documents()
        .import([{ id: "a", t: "x" }]),
    );
    expect(err).toBeInstanceOf(Errors.ImportError);
    expect((err as { importResults: unknown[] }).importResults).toEqual([
      { code: 409, error: "A document with id a already exists.", success: false },
    ]);
  });

  it("a dropped connection is a network error the client retries", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    emu().faults.dropConnections({ method: "GET", path: /\/documents\/search$/ });
    const client = ts.makeClient({ numRetries: 2 });
    const r = await client.collections(name).documents().search({ q: "*" });
    expect(r.found).toBe(0);
    emu().faults.dropConnections({ method: "GET", path: "/collections/*" });
    await expect(
      fetch(`${ts.url}/collections/${name}`, { headers: { "X-TYPESENSE-API-KEY": ts.apiKey } }),
    ).rejects.toThrow();
  });

  it("latency longer than the client timeout makes the request time out", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    emu().faults.addLatency({ path: `/collections/${name}`, ms: 1500, times: 1 });
    const client = ts.makeClient({ numRetries: 0, connectionTimeoutSeconds: 0.1 });
    const err = await errorOf(client.collections(name).retrieve());
    expect(err).toBeDefined();
    expect(err).not.toBeInstanceOf(Errors.ObjectNotFound);
  });

  it("going down refuses connections; coming back keeps the data", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    await importLines(ts, name, jsonl([{ t: "x" }]));
    await emu().faults.goDown();
    expect(emu().faults.isDown).toBe(true);
    await expect(fetch(`${ts.url}/health`)).rejects.toThrow();
    await emu().faults.comeBack();
    expect((await raw(ts, "GET", "/health")).status).toBe(200);
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(1);
  });

  it("goDown(ms) comes back by itself", async () => {
    await emu().faults.goDown(100);
    await expect(fetch(`${ts.url}/health`)).rejects.toThrow();
    await expect
      .poll(async () => (await fetch(`${ts.url}/health`).catch(() => undefined))?.status, {
        timeout: 5000,
      })
      .toBe(200);
  });

  it("the HTTP control route needs the key, adds, lists and clears rules", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const noKey = await raw(ts, "POST", "/__emulator/faults", { action: "fail" }, { key: null });
    expect(noKey.status).toBe(401);
    const add = await raw(ts, "POST", "/__emulator/faults", {
      action: "fail",
      method: "GET",
      pathRegex: "^/collections/[^/]+$",
      status: 500,
      body: { message: "boom" },
      times: 2,
    });
    expect(add.status).toBe(200);
    const listed = await raw(ts, "GET", "/__emulator/faults");
    expect(listed.json.rules).toEqual([
      {
        kind: "fail",
        method: "GET",
        path: "/^\\/collections\\/[^/]+$/",
        remaining: 2,
        status: 500,
        after: false,
      },
    ]);
    const hit = await raw(ts, "GET", `/collections/${name}`);
    expect(hit.status).toBe(500);
    expect(hit.json).toEqual({ message: "boom" });
    expect((await raw(ts, "DELETE", "/__emulator/faults")).status).toBe(200);
    expect((await raw(ts, "GET", `/collections/${name}`)).status).toBe(200);
    const down = await raw(ts, "POST", "/__emulator/faults", { action: "down", ms: 500 });
    expect(down.status).toBe(200);
    await expect.poll(() => emu().faults.isDown, { interval: 5, timeout: 2000 }).toBe(true);
    await expect.poll(() => emu().faults.isDown, { interval: 20, timeout: 5000 }).toBe(false);
    const stats = await raw(ts, "GET", "/__emulator/stats");
    expect(stats.json.requests).toBeGreaterThan(0);
  });
});
