import { describe, expect, it } from "vitest";
import { useHostileBackends } from "../support/hostile-backend.js";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const cap = capturingLogger();
const t = useTestApp(db, () => cap.log);
const s = useHostileBackends();
const KEY = "typesense-key-that-must-stay-home";

async function post(path: string, baseUrl: string) {
  const res = await t.app.request(
    path,
    jsonInit("POST", { base_url: baseUrl, api_key: KEY, timeout_ms: 2000 }, admin),
  );
  const text = await res.text();
  expect(text).not.toMatch(/hunter2|<html>/);
  expect(text).not.toContain(KEY);
  return {
    status: res.status,
    json: JSON.parse(text) as { message: string; data?: Record<string, unknown>; error?: unknown },
  };
}

describe("backends/test and collections/list against backends that are not Typesense", () => {
  it("a redirecting backend: test reports the redirect, list is 502 naming the status; the key never reaches the redirect's target", async () => {
    const test = await post("/typesense/backends/test", s.redirect.url);
    expect(test.status).toBe(200);
    expect(test.json.data?.ok).toBe(false);
    expect(String(test.json.data?.error)).toMatch(/HTTP 302/);
    const list = await post("/typesense/collections/list", s.redirect.url);
    expect(list.status).toBe(502);
    expect(String(list.json.error)).toMatch(/redirect \(HTTP 302\)/);
    expect(s.redirect.seen.length).toBeGreaterThanOrEqual(2);
    expect(s.target.seen).toEqual([]);
  });

  it("an HTML page: test is not ok, list is 502; the page's text is in no answer", async () => {
    const test = await post("/typesense/backends/test", s.html.url);
    expect(test.status).toBe(200);
    expect(test.json.data?.ok).toBe(false);
    const list = await post("/typesense/collections/list", s.html.url);
    expect(list.status).toBe(502);
    expect(list.json.message).toMatch(/did not answer like Typesense/);
  });

  it("a non-array /collections and an empty body are 502 with a clear message, never 500", async () => {
    // healthy /health, but the authenticated call's reply is not Typesense's: not ok
    const test = await post("/typesense/backends/test", s.nonArray.url);
    expect(test.json).toMatchObject({ message: "backend unhealthy", data: { ok: false } });
    expect(String(test.json.data?.error)).toMatch(/not a list of collections/);
    const nonArray = await post("/typesense/collections/list", s.nonArray.url);
    expect(nonArray.status).toBe(502);
    expect(String(nonArray.json.error)).toMatch(/not a list of collections/);
    const empty = await post("/typesense/collections/list", s.empty.url);
    expect(empty.status).toBe(502);
    expect(String(empty.json.error)).toMatch(/not JSON/);
  });
});
