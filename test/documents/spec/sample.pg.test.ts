import { beforeAll, describe, expect, it } from "vitest";
import {
  renderSpecSql,
  resolveDocumentSpec,
  sampleDocuments,
} from "../../../src/documents/index.js";
import { useTestDatabase } from "../../support/pg.js";
import { oracleDocuments, SHOP_DDL, SHOP_JOB, SHOP_SPEC } from "./fixture.js";

/*
 * The preview's sample: N documents by the same statement, warnings for
 * values left out and for related tables whose changes cannot name their roots.
 */

const db = useTestDatabase({ migrate: false });

beforeAll(async () => {
  await db.pool.query(SHOP_DDL);
});

describe("sampleDocuments", () => {
  it("renders the first N documents in id order, as the oracle computes them", async () => {
    const resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
    const { documents } = await sampleDocuments(db.pool, resolved, 2);
    const oracle = await oracleDocuments(db.pool);
    expect(documents).toEqual([oracle.get("1"), oracle.get("2")]);
  });

  it("warns about values left out and names the replica identity fix", async () => {
    const resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
    const { warnings } = await sampleDocuments(db.pool, resolved, 10);
    expect(warnings).toContain(
      'document 6: field "rating" (document.fields[4]) left out: NaN cannot be stored in a float field',
    );
    expect(warnings).toContain(
      'document 2: field "meta" (document.fields[6]) left out: json value is not an object (use json: "string" for such columns)',
    );
    const identity = warnings.filter((w) => w.includes("REPLICA IDENTITY"));
    // both children hang off variants.product_id, outside its primary-key replica identity;
    // brands.id and colors.code are their tables' keys
    expect(identity).toEqual([
      '"public"."variants" (document.children[0]): its changes cannot name the documents they belong to: product_id not in its replica identity (default): id; run ALTER TABLE "public"."variants" REPLICA IDENTITY FULL (or make a unique index holding product_id its replica identity)',
      '"public"."variants" (document.children[1]): its changes cannot name the documents they belong to: product_id not in its replica identity (default): id; run ALTER TABLE "public"."variants" REPLICA IDENTITY FULL (or make a unique index holding product_id its replica identity)',
    ]);
  });

  it("warns about lookup values left out too", async () => {
    await db.pool.query(`
      create table brand_scores (brand_id int4 primary key, score float8);
      insert into brand_scores values (1, 'NaN'), (2, 2.5);
    `);
    const spec = {
      fields: [{ name: "title", column: "title" }],
      lookups: [
        {
          name: "s",
          table: "brand_scores",
          on: { brand_id: "brand_id" },
          fields: [{ name: "score", column: "score" }],
        },
      ],
    };
    const resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, spec);
    const { documents, warnings } = await sampleDocuments(db.pool, resolved, 10);
    expect(documents.find((d) => d.id === "2")).toMatchObject({ score: 2.5 });
    expect(documents.find((d) => d.id === "1")).not.toHaveProperty("score");
    expect(warnings).toContain(
      'document 1: field "score" (document.lookups[0].fields[0]) left out: NaN cannot be stored in a float field',
    );
  });

  it("a root row with a NULL id has no document", async () => {
    await db.pool.query(`
      create table nullable_ids (code text unique, title text);
      insert into nullable_ids values ('a', 'x'), (null, 'y');
    `);
    const job = {
      schema: "public",
      table: "nullable_ids",
      documentIdColumn: "code",
      includedColumns: [],
      queryableFields: [],
    };
    const resolved = await resolveDocumentSpec(db.pool, job, {});
    expect((await sampleDocuments(db.pool, resolved, 10)).documents).toEqual([
      { id: "a", code: "a", title: "x" },
    ]);
    const whole = await db.pool.query(renderSpecSql(resolved).whole);
    expect(whole.rows).toEqual([{ id: "a", document: '{"id":"a","code":"a","title":"x"}' }]);
  });

  it("warns when the root's deletes cannot name their document (id column outside the replica identity)", async () => {
    await db.pool.query(`
      create table loose (sku text not null, title text);
      create unique index loose_sku on loose (sku);
    `);
    const job = {
      schema: "public",
      table: "loose",
      documentIdColumn: "sku",
      includedColumns: [],
      queryableFields: [],
    };
    const resolved = await resolveDocumentSpec(db.pool, job, {});
    const { warnings } = await sampleDocuments(db.pool, resolved, 1);
    expect(warnings).toEqual([
      '"public"."loose" (document_id_column): its changes cannot name the documents they belong to: sku not in its replica identity (default): none; run ALTER TABLE "public"."loose" REPLICA IDENTITY FULL (or make a unique index holding sku its replica identity)',
    ]);
  });

  it("no replica identity warning once the child table is REPLICA IDENTITY FULL", async () => {
    await db.pool.query("alter table variants replica identity full");
    try {
      const resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
      const { warnings } = await sampleDocuments(db.pool, resolved, 10);
      expect(warnings.filter((w) => w.includes("REPLICA IDENTITY"))).toEqual([]);
    } finally {
      await db.pool.query("alter table variants replica identity default");
    }
  });
});
