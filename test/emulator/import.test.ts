import { Errors } from "typesense";
import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();

const FIELDS = [
  { name: "title", type: "string" },
  { name: "n", type: "int32", optional: true },
];

function lines(text: string): unknown[] {
  return text.split("\n").map((l) => JSON.parse(l));
}

describe("import: line semantics (reference §5)", () => {
  it("one result line per non-empty input line, no trailing newline, HTTP 200 even if all fail", async () => {
    const name = await makeCollection(ts, FIELDS);
    const body = `${JSON.stringify({ id: "a", title: "x" })}\n\n${JSON.stringify({ id: "b" })}\n\n`;
    const r = await importLines(ts, name, body);
    expect(r.status).toBe(200);
    expect(r.text.endsWith("\n")).toBe(false);
    expect(r.text.split("\n")).toHaveLength(2);
    const allBad = await importLines(ts, name, "{bad\n[]\n1");
    expect(allBad.status).toBe(200);
    expect(allBad.text.split("\n")).toHaveLength(3);
  });

  it("a failure line has alphabetical keys and no document unless return_doc=true", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(ts, name, JSON.stringify({ id: "b" }));
    expect(r.text).toBe(
      '{"code":400,"error":"Field `title` has been declared in the schema, but is not found in the document.","success":false}',
    );
    const withDoc = await importLines(ts, name, JSON.stringify({ id: "b" }), "?return_doc=true");
    expect(withDoc.text).toBe(
      '{"code":400,"document":"{\\"id\\":\\"b\\"}","error":"Field `title` has been declared in the schema, but is not found in the document.","success":false}',
    );
  });

  it("return_id and return_doc on success", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(
      ts,
      name,
      jsonl([{ id: "a", title: "x" }]),
      "?return_id=true&return_doc=true",
    );
    expect(lines(r.text)).toEqual([{ success: true, id: "a", document: { id: "a", title: "x" } }]);
    const bad = await importLines(ts, name, jsonl([{ id: "z", title: "x" }]), "?return_id=yes");
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe("Parameter `return_id` must be a true|false.");
    const badDoc = await importLines(ts, name, jsonl([{ id: "z", title: "x" }]), "?return_doc=1");
    expect(badDoc.json.message).toBe("Parameter `return_doc` must be a true|false.");
  });

  it("whole-request errors: batch_size, action, missing collection", async () => {
    const name = await makeCollection(ts, FIELDS);
    const body = jsonl([{ title: "x" }]);
    for (const q of ["?batch_size=0", "?batch_size=abc"]) {
      const r = await importLines(ts, name, body, q);
      expect(r.status).toBe(400);
      expect(r.json.message).toBe("Parameter `batch_size` must be a positive integer.");
    }
    const act = await importLines(ts, name, body, "?action=merge");
    expect(act.status).toBe(400);
    expect(act.json.message).toBe("Parameter `action` must be a create|update|upsert.");
    const missing = await importLines(ts, `${name}_nope`, body);
    expect(missing.status).toBe(404);
    const emplace = await importLines(ts, name, body, "?action=emplace&batch_size=7");
    expect(emplace.status).toBe(200);
  });

  it("per-line errors: bad JSON, non-object, ids", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(
      ts,
      name,
      [
        '{"id":',
        "[]",
        "1",
        "   ",
        '{"id":1,"title":"x"}',
        '{"id":null,"title":"x"}',
        '{"id":"","title":"x"}',
      ].join("\n"),
    );
    const out = lines(r.text) as { code: number; error: string; success: boolean }[];
    expect(out).toHaveLength(7);
    expect(out[0]!.error).toMatch(
      /^Bad JSON: \[json\.exception\.parse_error\.101\] parse error at line 1, column \d+:/,
    );
    expect(out[1]).toEqual({
      code: 400,
      error: "Bad JSON: not a properly formed document.",
      success: false,
    });
    expect(out[2]!.error).toBe("Bad JSON: not a properly formed document.");
    expect(out[3]!.error).toMatch(/^Bad JSON: /); // whitespace-only is a parse error
    expect(out[4]!.error).toBe("Document's `id` field should be a string.");
    expect(out[5]!.error).toBe("Document's `id` field should be a string.");
    expect(out[6]!.error).toBe("The `id` should not be empty.");
    expect(out.every((o) => o.code === 400 && o.success === false)).toBe(true);
  });

  it("a trailing \\r is fine", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(ts, name, '{"id":"a","title":"x"}\r\n{"id":"b","title":"y"}\r\n');
    expect(lines(r.text)).toEqual([{ success: true }, { success: true }]);
  });

  it("actions: create 409, update 404 and missing id, upsert replaces, emplace merges", async () => {
    const name = await makeCollection(ts, FIELDS);
    await importLines(ts, name, jsonl([{ id: "a", title: "x", n: 1, extra: "e" }]));
    const create = await importLines(ts, name, jsonl([{ id: "a", title: "y" }]));
    expect(lines(create.text)).toEqual([
      { code: 409, error: "A document with id a already exists.", success: false },
    ]);
    const update = await importLines(
      ts,
      name,
      jsonl([{ id: "nope", title: "y" }, { title: "y" }]),
      "?action=update",
    );
    expect(lines(update.text)).toEqual([
      { code: 404, error: "Could not find a document with id: nope", success: false },
      { code: 400, error: "For update, the `id` key must be provided.", success: false },
    ]);
    await importLines(ts, name, jsonl([{ id: "a", n: 5 }]), "?action=emplace");
    expect((await raw(ts, "GET", `/collections/${name}/documents/a`)).json).toEqual({
      id: "a",
      title: "x",
      n: 5,
      extra: "e",
    });
    await importLines(ts, name, jsonl([{ id: "a", title: "z" }]), "?action=upsert");
    expect((await raw(ts, "GET", `/collections/${name}/documents/a`)).json).toEqual({
      id: "a",
      title: "z",
    });
    const upsertInvalid = await importLines(ts, name, jsonl([{ id: "a", n: 1 }]), "?action=upsert");
    expect(lines(upsertInvalid.text)[0]).toMatchObject({ code: 400, success: false });
    const emplaceNew = await importLines(ts, name, jsonl([{ id: "new", n: 1 }]), "?action=emplace");
    expect(lines(emplaceNew.text)[0]).toMatchObject({ code: 400 }); // new doc: full validation
  });

  it("lines apply in order and are not atomic; a repeated id sees the earlier line", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(
      ts,
      name,
      jsonl([
        { id: "a", title: "1" },
        { id: "b" },
        { id: "a", title: "2" },
        { id: "c", title: "3" },
      ]),
    );
    expect(lines(r.text).map((l) => (l as { success: boolean }).success)).toEqual([
      true,
      false,
      false,
      true,
    ]);
    const exp = await raw(ts, "GET", `/collections/${name}/documents/export`);
    expect(exp.text).toBe('{"id":"a","title":"1"}\n{"id":"c","title":"3"}');
  });

  it("auto ids are the seq number as a string", async () => {
    const name = await makeCollection(ts, FIELDS);
    const r = await importLines(
      ts,
      name,
      jsonl([{ title: "a" }, { title: "b" }]),
      "?return_id=true",
    );
    expect(lines(r.text)).toEqual([
      { id: "0", success: true },
      { id: "1", success: true },
    ]);
  });

  it("fields not in the schema are stored and returned", async () => {
    const name = await makeCollection(ts, FIELDS);
    await importLines(ts, name, jsonl([{ id: "a", title: "x", other: { deep: [1] } }]));
    expect((await raw(ts, "GET", `/collections/${name}/documents/a`)).json.other).toEqual({
      deep: [1],
    });
  });

  it("only the first failing field is reported, in schema order", async () => {
    const name = await makeCollection(ts, [
      { name: "a", type: "string" },
      { name: "b", type: "int32" },
    ]);
    const r = await importLines(ts, name, jsonl([{ a: 1, b: "x" }]));
    expect(lines(r.text)).toEqual([
      { code: 400, error: "Field `a` must be a string.", success: false },
    ]);
  });

  it("default sorting field missing has its own text", async () => {
    const name = await makeCollection(
      ts,
      [
        { name: "t", type: "string" },
        { name: "n", type: "int32" },
      ],
      {
        default_sorting_field: "n",
      },
    );
    const r = await importLines(ts, name, jsonl([{ t: "x" }]));
    expect((lines(r.text)[0] as { error: string }).error).toBe(
      "Field `n` has been declared as a default sorting field, but is not found in the document.",
    );
  });
});

describe("import: nulls and dirty_values (reference §5)", () => {
  const SCHEMA = [
    { name: "s", type: "string", optional: true },
    { name: "i", type: "int32", optional: true },
    { name: "l", type: "int64", optional: true },
    { name: "f", type: "float", optional: true },
    { name: "b", type: "bool", optional: true },
    { name: "req", type: "string" },
    { name: "arr", type: "string[]" },
  ];

  async function one(doc: Record<string, unknown>, mode?: string) {
    const name = await makeCollection(ts, SCHEMA);
    const q = mode ? `?return_doc=true&dirty_values=${mode}` : "?return_doc=true";
    const r = await importLines(ts, name, JSON.stringify({ req: "r", arr: [], ...doc }), q);
    return lines(r.text)[0] as {
      success: boolean;
      error?: string;
      document?: Record<string, unknown>;
    };
  }

  it("null: optional removed, required scalar is a type error, array becomes []", async () => {
    const ok = await one({ s: null, arr: null });
    expect(ok.success).toBe(true);
    expect(ok.document).not.toHaveProperty("s");
    expect(ok.document?.arr).toEqual([]);
    expect((await one({ req: null })).error).toBe("Field `req` must be a string.");
  });

  it("default mode is reject without dynamic fields", async () => {
    expect((await one({ s: 1 })).error).toBe("Field `s` must be a string.");
    expect((await one({ i: "5" })).error).toBe("Field `i` must be an int32.");
    expect((await one({ l: 1.5 })).error).toBe("Field `l` must be an int64.");
    expect((await one({ f: "1.5" })).error).toBe("Field `f` must be a float.");
    expect((await one({ b: "true" })).error).toBe("Field `b` must be a bool.");
    expect((await one({ arr: "x" })).error).toBe("Field `arr` must be an array.");
    expect((await one({ arr: [1] })).error).toBe("Field `arr` must be an array of string.");
    expect((await one({ s: 1 }, "bogus")).error).toBe("Field `s` must be a string.");
  });

  it("default mode is coerce_or_reject when the schema has a .* field", async () => {
    const name = await makeCollection(ts, [
      { name: "n", type: "int32" },
      { name: ".*", type: "auto" },
    ]);
    const r = await importLines(ts, name, jsonl([{ n: "42" }]), "?return_doc=true");
    expect(lines(r.text)[0]).toMatchObject({ success: true, document: { n: 42 } });
  });

  it("coerce_or_reject converts, case-insensitive mode name", async () => {
    const r = await one({ s: 12, i: 3.9, l: "77", f: "2.5", b: "TRUE" }, "COERCE_OR_REJECT");
    expect(r.success).toBe(true);
    expect(r.document).toMatchObject({ s: "12", i: 3, l: 77, f: 2.5, b: true });
    const more = await one({ s: true, i: true, f: true, b: 0 }, "coerce_or_reject");
    expect(more.document).toMatchObject({ s: "true", i: 1, f: 1, b: false });
    expect((await one({ i: "abc" }, "coerce_or_reject")).error).toBe("Field `i` must be an int32.");
  });

  it("int32 overflow after coercion is rejected; a native large integer is not", async () => {
    expect((await one({ i: "3000000000" }, "coerce_or_reject")).error).toBe(
      "Field `i` exceeds maximum value of int32.",
    );
    expect((await one({ i: 3000000000 })).success).toBe(true);
  });

  it("floats accept ints as-is; float and bool array error texts say 'a array'", async () => {
    expect((await one({ f: 3 })).document?.f).toBe(3);
    const name = await makeCollection(ts, [
      { name: "fa", type: "float[]" },
      { name: "ba", type: "bool[]" },
    ]);
    const r = await importLines(
      ts,
      name,
      jsonl([
        { fa: ["x"], ba: [] },
        { fa: [], ba: ["x"] },
      ]),
    );
    expect(lines(r.text)).toEqual([
      { code: 400, error: "Field `fa` must be a array of float.", success: false },
      { code: 400, error: "Field `ba` must be a array of bool.", success: false },
    ]);
  });

  it("drop removes optional mismatches, keeps required ones as errors", async () => {
    const r = await one({ s: 1, i: "x" }, "drop");
    expect(r.success).toBe(true);
    expect(r.document).not.toHaveProperty("s");
    expect(r.document).not.toHaveProperty("i");
    expect((await one({ req: 5 }, "drop")).error).toBe("Field `req` must be a string.");
  });

  it("coerce_or_drop coerces, else drops optional; a bad bool string is always an error", async () => {
    const r = await one({ s: 1, i: "x" }, "coerce_or_drop");
    expect(r.document?.s).toBe("1");
    expect(r.document).not.toHaveProperty("i");
    expect((await one({ b: "yes" }, "coerce_or_drop")).error).toBe("Field `b` must be a bool.");
  });

  it("geopoint must be a 2 element array", async () => {
    const name = await makeCollection(ts, [{ name: "loc", type: "geopoint" }]);
    const r = await importLines(ts, name, jsonl([{ loc: [1, 2] }, { loc: [1] }]));
    expect(lines(r.text)).toEqual([
      { success: true },
      { code: 400, error: "Field `loc` must be a 2 element array: [lat, lng].", success: false },
    ]);
  });
});

describe("import through the official client (reference §8 typesense-js)", () => {
  it("a failing line raises ImportError with per-line importResults", async () => {
    const name = await makeCollection(ts, FIELDS);
    const err = await ts.client
      .collections(name)
      .documents()
      .import(
        [
          { id: "a", title: "ok" },
          { id: "b", title: 5 },
        ],
        { action: "upsert" },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Errors.ImportError);
    const ie = err as InstanceType<typeof Errors.ImportError>;
    expect(ie.message).toMatch(
      /^1 documents imported successfully, 1 documents failed during import/,
    );
    expect(ie.importResults).toEqual([
      { success: true },
      { code: 400, error: "Field `title` must be a string.", success: false },
    ]);
  });

  it("throwOnFail=false returns the results; a JSONL string returns the raw text", async () => {
    const name = await makeCollection(ts, FIELDS);
    const res = await ts.client
      .collections(name)
      .documents()
      .import([{ id: "a", title: 1 }], { throwOnFail: false } as never);
    expect(res).toEqual([{ code: 400, error: "Field `title` must be a string.", success: false }]);
    const rawText = await ts.client.collections(name).documents().import('{"id":"z","title":"t"}');
    expect(rawText).toBe('{"success":true}');
  });

  it("export is ascending seq order, upsert keeps the seq, empty collection gives an empty body", async () => {
    const name = await makeCollection(ts, FIELDS);
    expect(await ts.client.collections(name).documents().export()).toBe("");
    const docs = ts.client.collections(name).documents();
    await docs.import([
      { id: "b", title: "1" },
      { id: "a", title: "2" },
      { id: "c", title: "3" },
    ]);
    await docs.upsert({ id: "b", title: "9" });
    await docs.delete({ filter_by: "id:c" });
    await docs.create({ id: "c", title: "4" });
    expect(await docs.export()).toBe(
      '{"id":"b","title":"9"}\n{"id":"a","title":"2"}\n{"id":"c","title":"4"}',
    );
    expect(await docs.export({ filter_by: "id:[a,c]", include_fields: "title" })).toBe(
      '{"title":"2"}\n{"title":"4"}',
    );
    expect(await docs.export({ exclude_fields: "title" })).toBe(
      '{"id":"b"}\n{"id":"a"}\n{"id":"c"}',
    );
  });

  it("stored documents have alphabetical keys", async () => {
    const name = await makeCollection(ts, FIELDS);
    await importLines(ts, name, '{"title":"x","id":"a","n":1}');
    const exp = await raw(ts, "GET", `/collections/${name}/documents/export`);
    expect(exp.text).toBe('{"id":"a","n":1,"title":"x"}');
  });
});
