import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors/service-error.js";

const API_MD = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");

/** Rows of the docs/api.md code table: "| `CODE` | status | retryable | meaning |". */
function documentedCodes(): Map<string, { status: number; retryable: boolean }> {
  const out = new Map<string, { status: number; retryable: boolean }>();
  for (const m of API_MD.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)) {
    out.set(m[1]!, { status: Number(m[2]), retryable: m[3] === "yes" });
  }
  return out;
}

describe("error codes", () => {
  it("every code is documented in docs/api.md with its status and retryability", () => {
    const docs = documentedCodes();
    const missing = Object.keys(ERROR_CODES).filter((code) => !docs.has(code));
    expect(missing).toEqual([]);
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect({ code, ...docs.get(code) }).toEqual({ code, ...info });
    }
  });

  it("docs/api.md documents no code that does not exist", () => {
    const unknown = [...documentedCodes().keys()].filter((c) => !(c in ERROR_CODES));
    expect(unknown).toEqual([]);
  });
});
