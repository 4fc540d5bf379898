import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { quoteIdent } from "../../src/documents/index.js";
import type { SyncBackend } from "../../src/fullsync/index.js";
import { itEmulatorOnly } from "../support/typesense.js";
import { steppingChild } from "./child.js";
import { insertJob } from "./helpers.js";
import {
  collectionDocuments,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "./support.js";

/*
 * Full sync with documents rendered by Postgres (mapper.documentSql, used on a
 * first sync into an empty collection): the same guarantees as the JS path
 * (tests in engine/saga.pg.test.ts, whose table has a jsonb column and so
 * takes the JS path). Every test checks that the rendered path ran.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

/** Like createProducts but without jsonb (every column has an SQL rendering), plus edges. */
async function createRenderable(pool: pg.Pool, table: string, n: number): Promise<void> {
  await pool.query(`create table ${quoteIdent(table)} (
    id bigint primary key, name text not null, price numeric(10,2), qty int4, big int8,
    rating float8, active bool, tags text[], code char(4), created timestamptz, day date,
    note text, ratio numeric)`);
  await pool.query(
    `insert into ${quoteIdent(table)}
     select g, 'product ' || g || E' "q" \\\\ \\t ✓', (g * 1.25)::numeric(10,2), g % 1000,
            case when g % 10 = 0 then 9007199254740992 + 2 * g else g end,
            case when g % 97 = 0 then 'NaN'::float8 else g / 3.0 end, g % 2 = 0,
            case when g % 7 = 0 then array[]::text[] else array['t' || (g % 5), null, 'all'] end,
            'c' || (g % 10), timestamptz '2024-01-01 00:00:00.123456+00' + make_interval(secs => g),
            date '1999-12-31' + g,
            case when g % 3 = 0 then null else 'note ' || g end,
            case when g % 11 = 0 then 1234567890123456::numeric else g / 7.0 end
       from generate_series(1, $1) g`,
    [n],
  );
}

/** The fixture's backend, counting raw-line imports (the rendered path). */
function countingBackend(): { backend: SyncBackend; calls: () => number } {
  let calls = 0;
  const real = fx.backend;
  const backend: SyncBackend = {
    importDocuments: (c, d, o) => real.importDocuments(c, d, o),
    importJsonLines: (c, l, i, o) => {
      calls++;
      return real.importJsonLines(c, l, i, o);
    },
    deleteDocuments: (c, i) => real.deleteDocuments(c, i),
    exportIds: (c) => real.exportIds(c),
    ensureCollection: (c, o) => real.ensureCollection(c, o),
    getCollection: (c) => real.getCollection(c),
    getDocuments: (c, i) => real.getDocuments(c, i),
  };
  return { backend, calls: () => calls };
}

async function job(table: string, rows: number) {
  await createRenderable(source.pool, table, rows);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize: 100 });
  return { jobId, collection };
}

describe("full sync with SQL-rendered documents", () => {
  it("writes exactly rowToDocument's documents; the next run finds them all unchanged", async () => {
    const { jobId, collection } = await job("r_copy", 1050);
    const spy = countingBackend();
    const res = await engine({ backendFor: async () => spy.backend, maxWindowsInFlight: 2 }).runJob(
      jobId,
      { trigger: "manual" },
    );
    expect(res.error).toBeNull();
    expect(res.counters).toMatchObject({ imported: 1050, failed: 0, unchanged: 0 });
    expect(spy.calls()).toBe(11);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "r_copy");
    // second run: pre-images exist, so the JS path compares, and nothing differs
    const again = await engine({ backendFor: async () => spy.backend }).runJob(jobId, {
      trigger: "manual",
    });
    expect(again.counters).toMatchObject({ imported: 0, unchanged: 1050, failed: 0 });
    expect(spy.calls()).toBe(11);
  });

  it("rejected lines become dead letters with their own id and payload", async () => {
    await createRenderable(source.pool, "r_reject", 250);
    const collection = ts.uniqueName("r_reject");
    // `note` is NULL for every third row: those docs lack a required field
    await fx.backend.createCollection({
      name: collection,
      fields: [{ name: "note", type: "string", optional: false }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "r_reject", adopt: true });
    const spy = countingBackend();
    const res = await engine({ backendFor: async () => spy.backend }).runJob(jobId, {
      trigger: "manual",
    });
    expect(spy.calls()).toBeGreaterThan(0);
    const rejected = Math.floor(250 / 3);
    expect(res.counters).toMatchObject({ imported: 250 - rejected, failed: rejected });
    const letters = await db.pool.query<{ doc_id: string; payload: Record<string, unknown> }>(
      "select doc_id, payload from typesense_dead_letters where job_id = $1 order by doc_id::int",
      [jobId],
    );
    expect(letters.rows.map((r) => r.doc_id)).toEqual(
      Array.from({ length: rejected }, (_, i) => String(3 * (i + 1))),
    );
    for (const l of letters.rows) {
      expect(l.payload).toMatchObject({ id: l.doc_id, name: `product ${l.doc_id} "q" \\ \t ✓` });
      expect(l.payload.note).toBeUndefined();
    }
    const docs = await collectionDocuments(fx.backend, collection);
    expect(docs.size).toBe(250 - rejected);
    expect(docs.has("3")).toBe(false);
  });

  itEmulatorOnly("retries a 503 import and ends equal to the table", async () => {
    const { jobId, collection } = await job("r_503", 300);
    const spy = countingBackend();
    fx.failNextImports(2);
    const res = await engine({ backendFor: async () => spy.backend }).runJob(jobId, {
      trigger: "manual",
    });
    expect(res.status).toBe("succeeded");
    expect(spy.calls()).toBe(5); // 3 windows + 2 retried attempts
    const [run] = await runRows(db.pool, jobId);
    expect(run!.retry_attempt_count).toBe(2);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "r_503");
  });

  itEmulatorOnly("rolls a failed first sync back to the empty collection", async () => {
    const { jobId, collection } = await job("r_rollback", 1000);
    const spy = countingBackend();
    const res = await engine({
      backendFor: async () => spy.backend,
      onWindowCommitted: (w) => {
        if (w.toSeq === 500) fx.failNextImports(3);
      },
    }).runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(spy.calls()).toBe(8); // 5 windows + 3 failed attempts
    expect(res.rollback).toMatchObject({ status: "succeeded", restored: 0, deleted: 600 });
    expect((await collectionDocuments(fx.backend, collection)).size).toBe(0);
  });

  itEmulatorOnly(
    "SIGKILL after 4 rendered windows: the resumed run continues at the checkpoint",
    async () => {
      const { jobId, collection } = await job("r_crash", 1000);
      const child = steppingChild(fx, jobId, 100);
      try {
        for (let n = 1; n <= 4; n++) {
          expect(await child.next()).toMatchObject({ event: "window", toSeq: n * 100 });
          if (n < 4) child.go();
        }
      } finally {
        await child.kill(); // dies after its 4th checkpoint
      }
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(400);
      for (let i = 0; ; i++) {
        const r = await db.pool.query<{ expired: boolean }>(
          "select lease_expires_at <= now() as expired from typesense_sync_jobs where id = $1",
          [jobId],
        );
        if (r.rows[0]!.expired) break;
        if (i > 200) throw new Error("lease never expired");
        await sleep(50);
      }
      // the collection is not empty now: the resumed attempt compares (JS path;
      // with fullsync.content_hashes on it goes through the hashes instead,
      // test/fullsync/content-hashes.pg.test.ts)
      const spy = countingBackend();
      const res = await engine({ backendFor: async () => spy.backend, windowSize: 100 }).runJob(
        jobId,
        { trigger: "schedule" },
      );
      expect(res).toMatchObject({ status: "succeeded", resumed: true });
      expect(res.counters).toMatchObject({ imported: 1000, failed: 0 });
      expect(spy.calls()).toBe(0);
      await expectCollectionEqualsTable(fx.backend, collection, source.pool, "r_crash");
    },
  );
});
