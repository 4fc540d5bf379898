import { describe, expect, it } from "vitest";
import type { SyncBackend } from "../../src/fullsync/index.js";
import {
  errorForStatus,
  idFilterChunks,
  isFilterSafeId,
  parseImportResults,
  type TypesenseBackend,
  TypesenseError,
  withRetry,
} from "../../src/typesense/index.js";

// Compile-time: the full-sync engine can take the real backend.
const _fits = (b: TypesenseBackend): SyncBackend => b;
void _fits;

describe("error classes", () => {
  it.each([
    [503, "Not Ready or Lagging", "server", true],
    [500, "Internal Server Error", "server", true],
    [429, "Rate limit exceeded or blocked", "server", true],
    [422, "Rejecting write: running out of resource type: OUT_OF_MEMORY", "server", true],
    [422, "Another collection update operation is in progress.", "server", true],
    [422, "Only upto 250 hits can be fetched per page.", "rejected", false],
    [408, "Request Timeout", "timeout", true],
    [400, "Bad JSON.", "rejected", false],
    [401, "Forbidden - a valid `x-typesense-api-key` header must be sent.", "rejected", false],
    [404, "Not Found", "rejected", false],
    [409, "A collection with name `x` already exists.", "rejected", false],
  ] as const)("%i %s -> %s", (status, message, kind, retryable) => {
    expect(errorForStatus(status, message)).toMatchObject({ status, message, kind, retryable });
  });
});

describe("withRetry", () => {
  const retryable = () => new TypesenseError({ message: "down", kind: "network" });

  it("waits baseMs * 2^(n-1) with jitter between attempts and returns the first success", async () => {
    const delays: number[] = [];
    let calls = 0;
    const v = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw retryable();
        return "done";
      },
      {
        maxAttempts: 5,
        baseMs: 2,
        jitter: 0.5,
        random: () => 1,
        onRetry: (_a, _e, d) => delays.push(d),
      },
    );
    expect(v).toBe("done");
    expect(calls).toBe(4);
    // random() = 1 with jitter 0.5 gives the upper bound: 1.5x
    expect(delays).toEqual([3, 6, 12]);
  });

  it("rethrows non-retryable errors and foreign errors at once", async () => {
    for (const err of [
      new TypesenseError({ message: "bad", kind: "rejected", status: 400 }),
      new Error("bug"),
    ]) {
      let calls = 0;
      await expect(
        withRetry(
          async () => {
            calls++;
            throw err;
          },
          { maxAttempts: 5, baseMs: 1 },
        ),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it("does not start when the signal is already aborted", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
        },
        { maxAttempts: 3, baseMs: 1, signal: AbortSignal.abort(new Error("stop")) },
      ),
    ).rejects.toThrow("stop");
    expect(calls).toBe(0);
  });
});

describe("id filters", () => {
  it("quotes every id in backticks and chunks by encoded length", () => {
    const ids = Array.from({ length: 300 }, (_, i) => `id,${i}`);
    const chunks = idFilterChunks(ids, 1000);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(encodeURIComponent(c).length).toBeLessThanOrEqual(1000);
    const back = chunks.flatMap((c) =>
      c
        .slice(4, -1)
        .split("`,`")
        .map((x) => x.replaceAll("`", "")),
    );
    expect(back).toEqual(ids);
    expect(idFilterChunks([], 1000)).toEqual([]);
  });

  it.each([
    ["plain", true],
    ["a,b]&&(c)", true],
    ["tick`", false],
    ["", false],
    [" lead", false],
    ["trail\t", false],
  ])("%j filter-safe: %s", (id, safe) => {
    expect(isFilterSafeId(id)).toBe(safe);
  });
});

describe("parseImportResults", () => {
  const idOf = (i: number) => `doc${i}`;

  it("maps each line, preferring the id Typesense returned", () => {
    const text = [
      '{"success":true}',
      '{"id":"x","success":true}',
      '{"code":409,"document":"{}","error":"A document with id doc2 already exists.","success":false}',
    ].join("\n");
    expect(parseImportResults(text, 3, idOf)).toEqual([
      { ok: true, id: "doc0" },
      { ok: true, id: "x" },
      { ok: false, id: "doc2", code: 409, error: "A document with id doc2 already exists." },
    ]);
  });

  it("an all-success answer (no return_id) gives every line's own id, like the line-by-line parse", () => {
    const ok = (n: number) => Array.from({ length: n }, () => '{"success":true}');
    for (const n of [1, 2, 1000]) {
      const want = Array.from({ length: n }, (_, i) => ({ ok: true, id: idOf(i) }));
      expect(parseImportResults(ok(n).join("\n"), n, idOf)).toEqual(want);
      // a trailing newline or one failed line takes the general path, same shape
      expect(parseImportResults(`${ok(n).join("\n")}\n`, n, idOf)).toEqual(want);
    }
    const mixed = [...ok(2), '{"success":false,"code":400,"error":"bad"}'].join("\n");
    expect(parseImportResults(mixed, 3, idOf)[2]).toEqual({
      ok: false,
      id: "doc2",
      code: 400,
      error: "bad",
    });
    expect(() => parseImportResults(ok(3).join("\n"), 2, idOf)).toThrow(/3 result line/);
  });

  it("throws when the line count does not match the input", () => {
    expect(() => parseImportResults('{"success":true}', 2, idOf)).toThrow(
      /1 result line\(s\) for 2 document/,
    );
    expect(() => parseImportResults("not json", 1, idOf)).toThrow(TypesenseError);
  });

  it("reads plain success lines without JSON.parse, with the same result as the parse", () => {
    const lines = [
      '{"id":"42","success":true}',
      '{"id":"","success":true}',
      '{"id":"q\\"d","success":true}',
      '{"id":"tab\\there","success":true}',
      '{"id":"日本語 🎉","success":true}',
      '{"id":"a","x":"b","success":true}',
      '{"id":"a","success":false,"code":400,"error":"bad"}',
      '{"success":true,"id":"7"}',
    ];
    const parsed = parseImportResults(lines.join("\n"), lines.length, idOf);
    const expected = lines.map((l, i) => {
      const r = JSON.parse(l) as { id?: string; success: boolean; code?: number; error?: string };
      const id = typeof r.id === "string" ? r.id : idOf(i);
      return r.success
        ? { ok: true, id }
        : {
            ok: false,
            id,
            code: r.code ?? 400,
            error: r.error ?? "import failed without a message",
          };
    });
    expect(parsed).toEqual(expected);
    expect(parsed[2]).toEqual({ ok: true, id: 'q"d' });
    expect(() => parseImportResults('{"id":"\u0001","success":true}', 1, idOf)).toThrow(
      TypesenseError,
    );
  });
});
