import { describe, expect } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const ts = useTypesense();
const log = silentLogger();
const t = useTestApp(db, () => log, { clients: () => ({ app: db.url }) });

type J = { status: string; message: string; data: Record<string, unknown> };
async function call(method: string, path: string, body: unknown) {
  const res = await t.app.request(path, jsonInit(method, body, admin));
  return { status: res.status, json: (await res.json()) as J };
}

/** Rotates the emulator's key: the old one is refused from now on. */
function rotateTypesenseKey(key: string) {
  if (!ts.emulator) throw new Error("needs the emulator");
  ts.emulator.setApiKey(key);
}

async function saveBackend(name: string, apiKey: string): Promise<string> {
  const r = await call("POST", "/typesense/backends", { name, base_url: ts.url, api_key: apiKey });
  expect(r.status).toBe(201);
  return r.json.data.id as string;
}

describe("backends are validated and followed", () => {
  itEmulatorOnly(
    "backends/test makes an authenticated call: a saved backend with a wrong key is 'key refused', not healthy",
    async () => {
      const id = await saveBackend("checked", ts.apiKey);
      const ok = await call("POST", "/typesense/backends/test", { profile_id: id });
      expect(ok.json).toMatchObject({
        message: "backend healthy",
        data: { ok: true, reachable: true, key_accepted: true },
      });
      await call("PATCH", `/typesense/backends/${id}`, { api_key: "a-wrong-key-0123456789" });
      const refused = await call("POST", "/typesense/backends/test", { profile_id: id });
      expect(refused.status).toBe(200);
      expect(refused.json).toMatchObject({
        message: "key refused",
        data: { ok: false, reachable: true, key_accepted: false },
      });
      expect(String(refused.json.data.error)).toMatch(/refused the API key \(HTTP 401\)/);
    },
  );
});
