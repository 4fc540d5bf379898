import { describe, expect, it } from "vitest";
import { redactText, redactUrl } from "../../src/lifecycle/logger.js";
import { capturingLogger } from "../support/log.js";

describe("logger", () => {
  it("writes JSON lines and redacts secrets by key", () => {
    const { log, lines } = capturingLogger("info");
    log.info(
      {
        component: "t",
        profile: { name: "p", api_key: "SECRET-1" },
        config: { auth: { admin_key: "SECRET-2" } },
        headers: { "x-athena-key": "SECRET-3", authorization: "Bearer SECRET-4" },
      },
      "hello",
    );
    const [line] = lines();
    expect(line).toBeDefined();
    const parsed = JSON.parse(line!);
    expect(parsed.msg).toBe("hello");
    expect(parsed.level).toBe("info");
    expect(parsed.profile.name).toBe("p");
    for (const s of ["SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4"]) expect(line).not.toContain(s);
  });

  it("removes DSN passwords from URLs, free text and logged errors", () => {
    expect(redactUrl("postgres://user:hunter2@db:5432/x")).toBe("postgres://user:***@db:5432/x");
    expect(redactText("connect postgres://u:pw@h/d failed")).toBe(
      "connect postgres://u:***@h/d failed",
    );
    const { log, lines } = capturingLogger("info");
    log.error({ err: new Error("cannot reach postgresql://app:s3cr3t@db/app") }, "boom");
    expect(lines()[0]).not.toContain("s3cr3t");
  });
});
