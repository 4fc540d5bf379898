import { beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../../src/catalog/index.js";
import {
  createDocumentMapper,
  DocumentSpecError,
  renderSpecSql,
  resolveDocumentSpec,
} from "../../../src/documents/index.js";
import { parseJson } from "../../../src/json/codec.js";
import { EVERY_TYPE_DDL, EVERY_TYPE_ROWS } from "../../support/every-type.js";
import { useTestDatabase } from "../../support/pg.js";

/*
 * A spec without fields, lookups or children renders exactly today's
 * documents (rowToDocument of the mapper over the same columns), for every
 * column type of the every-type table, json objects and points included.
 */

const db = useTestDatabase({ migrate: false });
const job = {
  schema: "public",
  table: "every_type",
  documentIdColumn: "id",
  queryableFields: ["t"],
};

beforeAll(async () => {
  await db.pool.query(EVERY_TYPE_DDL);
  await db.pool.query(EVERY_TYPE_ROWS);
});

describe("a spec without fields keeps today's documents", () => {
  it("renders rowToDocument's documents for every renderable column, byte-identical values", async () => {
    const table = await describeTable(db.pool, { schema: "public", table: "every_type" });
    const columns = table.columns
      .filter((c) => !c.generated && c.name !== "jba" && c.name !== "bx")
      .map((c) => c.name);
    const spec = { lookups: [], children: [] };
    const resolved = await resolveDocumentSpec(db.pool, { ...job, includedColumns: columns }, spec);
    const mapper = createDocumentMapper(table, { ...job, includedColumns: columns });
    expect(resolved.collectionSchema("c")).toEqual(mapper.collectionSchema("c"));
    const rows = await db.pool.query<Record<string, string | null>>(
      `select ${mapper.selectList} from every_type order by id`,
    );
    const expected = new Map(rows.rows.map((r) => [r.id, mapper.rowToDocument(r)]));
    const rendered = await db.pool.query<{ id: string; document: string }>(
      renderSpecSql(resolved).whole,
    );
    const got = new Map(rendered.rows.map((r) => [r.id, parseJson(r.document)]));
    expect(got.size).toBe(5);
    expect(got).toEqual(expected);
  });

  it("names each column that has no SQL rendering (all columns of every_type)", async () => {
    const err = await resolveDocumentSpec(db.pool, { ...job, includedColumns: [] }, {}).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DocumentSpecError);
    expect((err as DocumentSpecError).problems.map((p) => p.path)).toEqual([
      "included_columns.jba",
      "included_columns.bx",
    ]);
    expect(err.message).toContain('included_columns.bx: column "bx" (box[]) has no SQL rendering');
  });
});
