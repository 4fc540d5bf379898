import { expect, it } from "vitest";
import { describeEmulatorOnly, useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense({ nullSink: true });

describeEmulatorOnly("null-sink mode (issue 4)", () => {
  it("validates every line, returns correct result lines, stores nothing, counts", async () => {
    const name = await makeCollection(ts, [
      { name: "t", type: "string" },
      { name: "n", type: "int32", optional: true },
    ]);
    const before = ts.emulator!.stats();
    const r = await importLines(
      ts,
      name,
      [
        JSON.stringify({ id: "a", t: "x" }),
        "",
        JSON.stringify({ id: "b", t: 1 }),
        "{oops",
        JSON.stringify({ t: "y" }),
      ].join("\n"),
      "?return_id=true",
    );
    const out = r.text.split("\n").map((l) => JSON.parse(l));
    expect(out[0]).toEqual({ id: "a", success: true });
    expect(out[1]).toEqual({ code: 400, error: "Field `t` must be a string.", success: false });
    expect(out[2].error).toMatch(/^Bad JSON: /);
    expect(out[3]).toMatchObject({ success: true });
    // Creating the same id twice is not a conflict: nothing is stored.
    const again = await importLines(ts, name, jsonl([{ id: "a", t: "x" }]));
    expect(again.text).toBe('{"success":true}');
    const after = ts.emulator!.stats();
    expect(after.importRequests - before.importRequests).toBe(2);
    expect(after.importedLines - before.importedLines).toBe(5);
    expect(after.importSucceeded - before.importSucceeded).toBe(3);
    expect(after.importFailed - before.importFailed).toBe(2);
    expect(after.importBytes).toBeGreaterThan(before.importBytes);
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(0);
    expect((await raw(ts, "GET", `/collections/${name}/documents/export`)).text).toBe("");
    expect(after.documents).toBe(0);
  });

  it("update validates the given fields only and succeeds", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const r = await importLines(
      ts,
      name,
      jsonl([
        { id: "a", n: 1 },
        { id: "b", t: 2 },
      ]),
      "?action=update",
    );
    expect(r.text).toBe(
      '{"success":true}\n{"code":400,"error":"Field `t` must be a string.","success":false}',
    );
  });
});
