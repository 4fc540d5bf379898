import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
import { importLines, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();

// Typesense keeps int64 values exactly; a JSON.parse-based server would round
// everything beyond 2^53 and a sync engine tested against it would never notice.
describe("int64 beyond 2^53 (exact on the wire)", () => {
  it("import, export, get and search return the digits that were sent; filters compare exactly", async () => {
    const name = await makeCollection(ts, [
      { name: "big", type: "int64" },
      { name: "bigs", type: "int64[]", optional: true },
    ]);
    const lineA =
      '{"id":"a","big":9223372036854775807,"bigs":[-9223372036854775808,9007199254740993]}';
    const lineB = '{"id":"b","big":9223372036854775806}';
    const r = await importLines(ts, name, `${lineA}\n${lineB}`, "?action=upsert");
    expect(r.text).toBe('{"success":true}\n{"success":true}');
    const exported = await raw(ts, "GET", `/collections/${name}/documents/export`);
    const [ea, eb] = exported.text.split("\n");
    expect(ea).toContain('"big":9223372036854775807');
    expect(ea).toContain('"bigs":[-9223372036854775808,9007199254740993]');
    expect(eb).toContain('"big":9223372036854775806');
    const one = await raw(ts, "GET", `/collections/${name}/documents/a`);
    expect(one.text).toContain('"big":9223372036854775807');
    expect(one.text).toContain("9007199254740993");
    const gt = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&filter_by=${encodeURIComponent("big:>9223372036854775806")}`,
    );
    expect(gt.json.found).toBe(1);
    expect(gt.text).toContain('"id":"a"');
    const eq = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&filter_by=${encodeURIComponent("big:=9223372036854775806")}`,
    );
    expect(eq.json.found).toBe(1);
    expect(eq.text).toContain('"id":"b"');
  });
});
