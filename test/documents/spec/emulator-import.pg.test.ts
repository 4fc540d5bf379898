import type { CollectionCreateSchema } from "typesense/lib/Typesense/Collections.js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ResolvedDocument,
  resolveDocumentSpec,
  sampleDocuments,
} from "../../../src/documents/index.js";
import type { CollectionSchema, Document } from "../../../src/typesense/types.js";
import { useTestDatabase } from "../../support/pg.js";
import { useTypesense } from "../../support/typesense.js";
import { oracleDocuments, SHOP_DDL, SHOP_JOB, SHOP_SPEC } from "./fixture.js";

/*
 * The spec's collection schema is accepted by the embedded Typesense (every
 * option it emits), the sampled documents import without errors, and facets
 * on a lookup field and on child fields (arrays shape and objects shape)
 * count what the oracle says.
 */

const db = useTestDatabase({ migrate: false });
const ts = useTypesense();
let resolved: ResolvedDocument;
let docs: Document[];
let name: string;

beforeAll(async () => {
  await db.pool.query(SHOP_DDL);
  resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
  docs = (await sampleDocuments(db.pool, resolved, 100)).documents;
  name = ts.uniqueName("spec");
  await createCollection(resolved.collectionSchema(name));
});

/** The client's schema type lacks stem/range_index/num_dim: the schema goes as it is. */
function createCollection(schema: CollectionSchema) {
  return ts.client.collections().create(schema as unknown as CollectionCreateSchema);
}

function counts(
  res: {
    facet_counts?: Array<{ field_name: string; counts: Array<{ value: string; count: number }> }>;
  },
  field: string,
) {
  const f = res.facet_counts?.find((x) => x.field_name === field);
  return Object.fromEntries((f?.counts ?? []).map((c) => [c.value, c.count]));
}

describe("a spec's collection in the embedded Typesense", () => {
  it("the sampled documents are the oracle's and import without errors", async () => {
    expect(new Map(docs.map((d) => [d.id, d]))).toEqual(await oracleDocuments(db.pool));
    const results = await ts.client
      .collections(name)
      .documents()
      .import(docs, { action: "upsert" });
    expect(results.filter((r) => !r.success)).toEqual([]);
  });

  it("facets on a lookup field and on child fields count documents", async () => {
    const res = await ts.client.collections(name).documents().search({
      q: "*",
      facet_by: "brand_name,v_color,variants.color,category",
    });
    expect(res.found).toBe(5);
    expect(counts(res, "brand_name")).toEqual({ Acme: 1, Globex: 1 });
    expect(counts(res, "v_color")).toEqual({ Red: 2, Blue: 2 });
    // objects shape: the path reads every variant's color (doc 6 has Red twice;
    // the emulator counts array values, as it does for any array field)
    expect(counts(res, "variants.color")).toEqual({ Blue: 3, Red: 2 });
    expect(counts(res, "category")).toEqual({ furniture: 2, misc: 2 });
  });

  it("every field option the spec may set is accepted", async () => {
    const withOptions = await resolveDocumentSpec(db.pool, SHOP_JOB, {
      fields: [
        {
          name: "title",
          column: "title",
          infix: true,
          locale: "fr",
          stem: true,
          sort: true,
          store: true,
        },
        { name: "rating", column: "rating", range_index: true, index: true, optional: true },
        { name: "emb", sql: "array[rating, rating]::float8[]", num_dim: 2 },
        { name: "category", column: "category", facet: true, index: true },
      ],
    });
    const schemaName = ts.uniqueName("opts");
    const created = await createCollection(withOptions.collectionSchema(schemaName));
    const byName = Object.fromEntries(
      created.fields.map((f) => [f.name, f as unknown as Record<string, unknown>]),
    );
    expect(byName.title).toMatchObject({ infix: true, locale: "fr", stem: true, sort: true });
    expect(byName.rating).toMatchObject({ range_index: true });
    expect(byName.emb).toMatchObject({ type: "float[]", num_dim: 2 });
  });
});
