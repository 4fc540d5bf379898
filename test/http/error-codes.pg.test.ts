import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors/service-error.js";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const cap = capturingLogger();
const t = useTestApp(db, () => cap.log, { bodyLimit: 2048 });

interface Case {
  name: string;
  path: string;
  init?: RequestInit;
  status: number;
  code: string;
  message: string;
}

const gatewayToken = `ath_${"1".repeat(16)}.${"2".repeat(64)}`;

/** One request per way the API answers an error; status and message as before the codes. */
const cases: Case[] = [
  {
    name: "no key",
    path: "/typesense/sync-jobs",
    status: 401,
    code: "AUTH_REQUIRED",
    message: "API key required",
  },
  {
    name: "unknown gateway key",
    path: "/typesense/sync-jobs",
    init: { headers: { "X-Athena-Key": gatewayToken } },
    status: 401,
    code: "AUTH_INVALID",
    message: "Invalid API key",
  },
  {
    name: "unknown route",
    path: "/typesense/nope",
    init: { headers: admin },
    status: 404,
    code: "ROUTE_NOT_FOUND",
    message: "Not found",
  },
  {
    name: "unknown job",
    path: `/typesense/sync-jobs/${randomUUID()}`,
    init: { headers: admin },
    status: 404,
    code: "NOT_FOUND",
    message: "",
  },
  {
    name: "zod validation",
    path: "/typesense/search",
    init: jsonInit("POST", { q: 1 }, admin),
    status: 400,
    code: "VALIDATION_FAILED",
    message: "Invalid request",
  },
  {
    name: "malformed JSON (hono's HTTPException)",
    path: "/typesense/search",
    init: jsonInit("POST", "{", admin),
    status: 400,
    code: "VALIDATION_FAILED",
    message: "",
  },
  {
    name: "body too large",
    path: "/typesense/search",
    init: jsonInit("POST", { q: "x".repeat(5000), job_id: "a" }, admin),
    status: 413,
    code: "BODY_TOO_LARGE",
    message: "Request body too large",
  },
];

describe("error responses carry their code", () => {
  for (const k of cases) {
    it(`${k.name}: ${k.status} ${k.code}`, async () => {
      const res = await t.app.request(k.path, k.init);
      expect(res.status).toBe(k.status);
      const body = (await res.json()) as { status: string; code: string; message: string };
      expect(body.status).toBe("error");
      expect(body.code).toBe(k.code);
      expect(ERROR_CODES[body.code as keyof typeof ERROR_CODES]?.status).toBeDefined();
      if (k.message) expect(body.message).toBe(k.message);
    });
  }
});
