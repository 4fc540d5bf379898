import { beforeAll, describe, expect, it } from "vitest";
import { CatalogError, describeTable } from "../../src/catalog/index.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase({ migrate: false });

beforeAll(async () => {
  await db.pool.query(`
    create schema "My Schema";
    create type "My Schema".color as enum ('red', 'green');
    create domain short_text as varchar(10);
    create domain short_texts as short_text[];
    create table "My Schema"."Mixed Case" (
      "Id" int4 generated always as identity,
      tenant int4 not null,
      code text not null,
      email text,
      slug text,
      dropped int4,
      colors "My Schema".color[],
      tags short_texts,
      primary key (tenant, "Id")
    );
    alter table "My Schema"."Mixed Case" drop column dropped;
    create unique index on "My Schema"."Mixed Case" (code);
    create unique index on "My Schema"."Mixed Case" (email) where email is not null;
    create unique index on "My Schema"."Mixed Case" (lower(slug));
    alter table "My Schema"."Mixed Case" replica identity using index "Mixed Case_code_idx";
    create table plain (id text primary key, n int4);
    alter table plain replica identity full;
    create table nokey (n int4);
    alter table nokey replica identity nothing;
    create view v as select * from plain;
    create sequence seq;
  `);
});

describe("describeTable", () => {
  it("reads columns in attnum order with domains and arrays resolved", async () => {
    const t = await describeTable(db.pool, { schema: "My Schema", table: "Mixed Case" });
    expect(t.kind).toBe("table");
    expect(
      t.columns.map((c) => [
        c.name,
        c.typeName,
        c.baseTypeName,
        c.kind,
        c.isArray,
        c.isEnum,
        c.nullable,
      ]),
    ).toEqual([
      ["Id", "integer", "int4", "int32", false, false, false],
      ["tenant", "integer", "int4", "int32", false, false, false],
      ["code", "text", "text", "string", false, false, false],
      ["email", "text", "text", "string", false, false, true],
      ["slug", "text", "text", "string", false, false, true],
      ["colors", '"My Schema".color[]', "color", "enum", true, true, true],
      ["tags", "short_texts", "varchar", "string", true, false, true],
    ]);
    expect(t.columns.map((c) => c.attnum)).toEqual([1, 2, 3, 4, 5, 7, 8]);
    expect(t.columns[0]?.outputFunction).toBe("pg_catalog.int4out");
    expect(t.columns[5]?.outputFunction).toBe("pg_catalog.array_out");
    expect(t.columns[6]?.outputFunction).toBe("pg_catalog.array_out");
    expect(t.primaryKey).toEqual(["tenant", "Id"]);
    // partial and expression indexes do not make a column unique
    expect(t.uniqueColumns).toEqual(["code"]);
    expect(t.replicaIdentity).toBe("index");
    expect(t.replicaIdentityColumns).toEqual(["code"]);
  });

  it("reports replica identity default/full/nothing and relation kinds", async () => {
    const plain = await describeTable(db.pool, { schema: "public", table: "plain" });
    expect([plain.replicaIdentity, plain.replicaIdentityColumns, plain.uniqueColumns]).toEqual([
      "full",
      ["id", "n"],
      ["id"],
    ]);
    const nokey = await describeTable(db.pool, { schema: "public", table: "nokey" });
    expect([nokey.replicaIdentity, nokey.replicaIdentityColumns, nokey.primaryKey]).toEqual([
      "nothing",
      [],
      [],
    ]);
    const view = await describeTable(db.pool, { schema: "public", table: "v" });
    expect(view.kind).toBe("view");
  });

  it("throws a CatalogError naming schema.table for a missing table or a non-table", async () => {
    await expect(describeTable(db.pool, { schema: "public", table: "Plain" })).rejects.toThrow(
      new CatalogError(
        { schema: "public", table: "Plain" },
        "does not exist (or is not visible to this role)",
      ),
    );
    await expect(describeTable(db.pool, { schema: "public", table: "seq" })).rejects.toThrow(
      '"public"."seq" is not a table or view (relkind \'S\')',
    );
  });
});
