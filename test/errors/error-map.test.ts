import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/control/errors.js";
import { UnrepresentableValue } from "../../src/documents/values.js";
import type { AppEnv } from "../../src/http/env.js";
import { errorResponse } from "../../src/http/error-map.js";
import { silentLogger } from "../support/log.js";

/** A bare app whose only route throws `err`, answered by the real onError. */
async function answer(err: Error): Promise<{ status: number; body: Record<string, unknown> }> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("log", silentLogger());
    await next();
  });
  app.get("/", () => {
    throw err;
  });
  app.onError((e, c) => errorResponse(e, c));
  const res = await app.request("/");
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("error map: a lookup on the error's code", () => {
  it("a ServiceError answers its own status, code and message", async () => {
    expect(await answer(new NotFoundError("backend b not found"))).toEqual({
      status: 404,
      body: { status: "error", code: "NOT_FOUND", message: "backend b not found" },
    });
  });

  it("a 500 ServiceError keeps its message (it may hold row data) out of the answer", async () => {
    const r = await answer(new UnrepresentableValue("value 'secret-row-text' is not a number"));
    expect(r).toEqual({
      status: 500,
      body: {
        status: "error",
        code: "DOCUMENT_VALUE_UNREPRESENTABLE",
        message: "Internal server error",
      },
    });
  });

  it("anything else is a bare 500 INTERNAL", async () => {
    expect((await answer(new Error("boom"))).body).toEqual({
      status: "error",
      code: "INTERNAL",
      message: "Internal server error",
    });
  });
});
