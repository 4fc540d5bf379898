import { describe, expect, it } from "vitest";
import {
  classifyDocumentChange,
  type DocumentChange,
  type DocumentSide,
  describeRebuild,
} from "../../src/control/document-change.js";
import { DocumentSpec, type DocumentSpecInput } from "../../src/db/repositories/document-spec.js";
import type { TypesenseField } from "../../src/typesense/types.js";

/*
 * The schema-change classifier (issue 15 point 5): each kind of change, on
 * specs as the API stores them (zod defaults applied) and the collection
 * schemas they render (fields optional, as the mapper and the spec make them).
 */

const opt = (name: string, type: string, more: Partial<TypesenseField> = {}): TypesenseField => ({
  name,
  type,
  optional: true,
  ...more,
});

/** A side: the spec parsed as the API stores it, and the schema it renders. */
function side(
  spec: DocumentSpecInput | null,
  fields: TypesenseField[],
  more: Omit<DocumentSide["schema"], "fields"> = {},
): DocumentSide {
  return { spec: spec === null ? null : DocumentSpec.parse(spec), schema: { fields, ...more } };
}

const BASE: DocumentSpecInput = {
  fields: [
    { name: "title", column: "title" },
    { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
  ],
  lookups: [
    {
      name: "brand",
      table: "public.brands",
      on: { brand_id: "id" },
      fields: [{ name: "brand_name", column: "name", facet: true }],
    },
  ],
  children: [
    {
      name: "variants",
      table: "public.variants",
      on: { id: "product_id" },
      order_by: "position",
      shape: "arrays",
      fields: [{ name: "color", column: "color" }],
    },
  ],
};
const BASE_FIELDS = [
  opt("title", "string"),
  opt("price_cents", "int64", { sort: true }),
  opt("brand_name", "string", { facet: true }),
  opt("variants_color", "string[]"),
];
const before = side(BASE, BASE_FIELDS);

/** BASE as stored, changed by `edit` (a deep copy). */
function edited(edit: (s: DocumentSpec) => void): DocumentSpecInput {
  const s = structuredClone(DocumentSpec.parse(BASE));
  edit(s);
  return s;
}

function rebuildReasons(c: DocumentChange): string {
  expect(c.kind).toBe("needs-rebuild");
  return c.kind === "needs-rebuild"
    ? c.reasons.map((r) => `${r.path}: ${r.reason}`).join("\n")
    : "";
}

describe("classifyDocumentChange: none", () => {
  it("the same spec with its keys in another order (as jsonb returns it) is no change", () => {
    const reordered = JSON.parse(JSON.stringify(DocumentSpec.parse(BASE)), (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).reverse())
        : v,
    );
    expect(classifyDocumentChange(before, side(reordered, BASE_FIELDS))).toEqual({ kind: "none" });
  });

  it("no spec before and after is no change", () => {
    const f = [opt("title", "string")];
    expect(classifyDocumentChange(side(null, f), side(null, f))).toEqual({ kind: "none" });
  });

  it("null -> a spec without fields that renders the same schema is no change", () => {
    const f = [opt("title", "string"), opt("category", "string")];
    expect(classifyDocumentChange(side(null, f), side({}, f))).toEqual({ kind: "none" });
  });
});

describe("classifyDocumentChange: additive", () => {
  it("a new optional root field is additive, named", () => {
    const after = side(
      edited((s) => s.fields!.push({ name: "status", column: "status", facet: true })),
      [...BASE_FIELDS, opt("status", "string", { facet: true })],
    );
    expect(classifyDocumentChange(before, after)).toEqual({ kind: "additive", added: ["status"] });
  });

  it("a new field of an existing lookup and of an existing child is additive", () => {
    const after = side(
      edited((s) => {
        s.lookups![0]!.fields.push({ name: "brand_country", column: "country" });
        s.children![0]!.fields.push({ name: "sku", column: "sku" });
      }),
      [...BASE_FIELDS, opt("brand_country", "string"), opt("variants_sku", "string[]")],
    );
    const c = classifyDocumentChange(before, after);
    expect(c.kind).toBe("additive");
    expect(c.kind === "additive" && c.added).toEqual(
      expect.arrayContaining(["brand_country", "variants.sku", "variants_sku"]),
    );
  });

  it("null -> a spec listing today's columns plus a computed field is additive", () => {
    const today = [opt("title", "string"), opt("price", "float")];
    const after = side(
      {
        fields: [
          { name: "title", column: "title" },
          { name: "price", column: "price" },
          { name: "price_cents", sql: "round(price * 100)::bigint" },
        ],
      },
      [...today, opt("price_cents", "int64")],
    );
    expect(classifyDocumentChange(side(null, today), after)).toEqual({
      kind: "additive",
      added: ["price_cents"],
    });
  });
});

describe("classifyDocumentChange: needs-rebuild, with the reason and the path", () => {
  it("a changed type", () => {
    const after = side(
      edited((s) => {
        s.fields![1] = { ...s.fields![1]!, type: "float" };
      }),
      BASE_FIELDS.map((f) => (f.name === "price_cents" ? { ...f, type: "float" } : f)),
    );
    const r = rebuildReasons(classifyDocumentChange(before, after));
    expect(r).toContain('document.fields[1]: field "price_cents" changes type (int64 -> float)');
  });

  it("a removed field", () => {
    const after = side(
      edited((s) => {
        s.fields!.splice(0, 1);
      }),
      BASE_FIELDS.slice(1),
    );
    expect(rebuildReasons(classifyDocumentChange(before, after))).toContain(
      'document.fields[0]: field "title" removed',
    );
  });

  it("an option Typesense cannot change on a live field (facet)", () => {
    const after = side(
      edited((s) => {
        s.fields![0] = { name: "title", column: "title", facet: true };
      }),
      BASE_FIELDS.map((f) => (f.name === "title" ? { ...f, facet: true } : f)),
    );
    const r = rebuildReasons(classifyDocumentChange(before, after));
    expect(r).toContain('document.fields[0]: field "title" changes facet');
  });

  it("a new field that is not optional", () => {
    const after = side(
      edited((s) => s.fields!.push({ name: "status", column: "status", optional: false })),
      [...BASE_FIELDS, { name: "status", type: "string", optional: false }],
    );
    expect(rebuildReasons(classifyDocumentChange(before, after))).toContain(
      'document.fields[2]: new field "status" is not optional',
    );
  });

  it("a new object[] field on a collection without nested fields", () => {
    const after = side(
      edited((s) => {
        s.children!.push({
          name: "images",
          table: "public.images",
          on: { id: "product_id" },
          limit: 100,
          shape: "objects",
          fields: [{ name: "url", column: "url" }],
          lookups: [],
        });
      }),
      [...BASE_FIELDS, opt("images", "object[]")],
      { enable_nested_fields: true },
    );
    const r = rebuildReasons(classifyDocumentChange(before, after));
    expect(r).toContain('document.children[1]: child "images" added');
    expect(r).toContain("needs enable_nested_fields");
  });

  it("a changed filter, an added filter and a removed one", () => {
    const filtered = side(
      edited((s) => {
        s.filter = "deleted_at IS NULL";
      }),
      BASE_FIELDS,
    );
    expect(rebuildReasons(classifyDocumentChange(before, filtered))).toContain(
      'document.filter: the row filter changed (null -> "deleted_at IS NULL")',
    );
    expect(rebuildReasons(classifyDocumentChange(filtered, before))).toContain("document.filter");
    const other = side(
      edited((s) => {
        s.filter = "status = 'published'";
      }),
      BASE_FIELDS,
    );
    expect(rebuildReasons(classifyDocumentChange(filtered, other))).toContain("document.filter");
  });

  it("a lookup added, a lookup whose `on` changed, a child removed", () => {
    const added = side(
      edited((s) =>
        s.lookups!.push({
          name: "shop",
          table: "public.shops",
          on: { shop_id: "id" },
          fields: [{ name: "shop_name", column: "name" }],
        }),
      ),
      [...BASE_FIELDS, opt("shop_name", "string")],
    );
    expect(rebuildReasons(classifyDocumentChange(before, added))).toContain(
      'document.lookups[1]: lookup "shop" added',
    );
    const rejoined = side(
      edited((s) => {
        s.lookups![0]!.on = { maker_id: "id" };
      }),
      BASE_FIELDS,
    );
    expect(rebuildReasons(classifyDocumentChange(before, rejoined))).toContain(
      'document.lookups[0]: lookup "brand" changed which rows it joins',
    );
    const dropped = side(
      edited((s) => {
        s.children = [];
      }),
      BASE_FIELDS.filter((f) => f.name !== "variants_color"),
    );
    expect(rebuildReasons(classifyDocumentChange(before, dropped))).toContain(
      'document.children[0]: child "variants" removed',
    );
  });

  it("a child's limit (which rows it joins) changed", () => {
    const after = side(
      edited((s) => {
        s.children![0]!.limit = 5;
      }),
      BASE_FIELDS,
    );
    expect(rebuildReasons(classifyDocumentChange(before, after))).toContain(
      'document.children[0]: child "variants" changed which rows it joins',
    );
  });

  it("changed collection options", () => {
    const after = side(
      edited((s) => {
        s.collection = { default_sorting_field: "price_cents" };
      }),
      BASE_FIELDS,
      { default_sorting_field: "price_cents" },
    );
    expect(rebuildReasons(classifyDocumentChange(before, after))).toContain(
      "document.collection.default_sorting_field: default_sorting_field changes",
    );
  });

  it("a field whose expression changed, with the same type: its values change in place", () => {
    const after = side(
      edited((s) => {
        s.fields![1] = { ...s.fields![1]!, sql: "floor(price * 100)::bigint" };
      }),
      BASE_FIELDS,
    );
    expect(rebuildReasons(classifyDocumentChange(before, after))).toContain(
      'document.fields[1]: field "price_cents" changed (sql)',
    );
  });

  it("null -> a spec that fills a column's field name from another column", () => {
    const today = [opt("title", "string")];
    const after = side({ fields: [{ name: "title", column: "title_fr" }] }, today);
    expect(rebuildReasons(classifyDocumentChange(side(null, today), after))).toContain(
      'document.fields[0]: field "title" comes from column "title_fr" in the new spec',
    );
  });

  it("every reason is collected, and the message names them and the rebuild it needs", () => {
    const after = side(
      edited((s) => {
        s.fields!.splice(0, 1);
        s.filter = "true";
      }),
      BASE_FIELDS.slice(1),
    );
    const c = classifyDocumentChange(before, after);
    expect(c.kind === "needs-rebuild" && c.reasons.length).toBeGreaterThanOrEqual(2);
    const msg = describeRebuild(c.kind === "needs-rebuild" ? c.reasons : []);
    expect(msg).toContain("document.filter");
    expect(msg).toContain('field "title" removed');
    expect(msg).toContain("would mix it into the live version");
    expect(msg).toContain("set cdc_enabled to false in the same PATCH");
  });
});
