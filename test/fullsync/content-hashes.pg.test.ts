import { expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestRebuild } from "../../src/coordination/request-run.js";
import { persistCheckpoint } from "../../src/db/repositories/cdc-checkpoint.js";
import type { SyncBackend } from "../../src/fullsync/index.js";
import { describeEmulatorOnly } from "../support/typesense.js";
import { insertJob } from "./helpers.js";
import { expectCollectionEqualsTable, useEngineFixture } from "./support.js";

/*
 * Content hashes (docs/full-sync.md "Content hashes"): an unchanged re-sync
 * compares md5s inside Postgres and writes nothing; every other write keeps
 * the claims true (or deletes them), so a doc is re-sent, never skipped wrongly.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 100, contentHashes: true });
const { db, source, ts, engine } = fx;

/** A table every column of which Postgres renders (the hash path needs the SQL rendering). */
async function job(table: string, rows: number) {
  await source.pool.query(
    `create table ${table} (id bigint primary key, name text not null, qty int4, tags text[])`,
  );
  await source.pool.query(
    `insert into ${table} select g, 'item ' || g || ' ✓', g % 100, array['t' || g % 3]
       from generate_series(1, $1) g`,
    [rows],
  );
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize: 100 });
  return { jobId, collection };
}

/** The fixture's backend with every call counted by method name. */
function counted(): { backend: SyncBackend; calls: Record<string, number>; total: () => number } {
  const calls: Record<string, number> = {};
  const real = fx.backend as unknown as Record<string, unknown>;
  const backend = new Proxy(real, {
    get(target, key: string) {
      const v = target[key];
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls[key] = (calls[key] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as SyncBackend;
  return {
    backend,
    calls,
    total: () => Object.values(calls).reduce((a, b) => a + b, 0),
  };
}

async function claims(jobId: string): Promise<Map<string, string>> {
  const r = await db.pool.query<{ doc_id: string; h: string }>(
    `select doc_id, encode(hash, 'hex') as h from typesense_sync_doc_hashes where job_id = $1`,
    [jobId],
  );
  return new Map(r.rows.map((x) => [x.doc_id, x.h]));
}

const run = async (jobId: string, over: Parameters<typeof engine>[0] = {}) =>
  engine(over).runJob(jobId, { trigger: "manual" });

describeEmulatorOnly("content hashes", () => {
  it("off (fullsync.content_hashes false, the default): a sync stores no claim and clears the job's old ones", async () => {
    const { jobId } = await job("h_off", 250);
    expect((await run(jobId)).counters).toMatchObject({ imported: 250 });
    expect((await claims(jobId)).size).toBe(250);
    const off = await run(jobId, { contentHashes: false });
    expect(off.counters).toMatchObject({ unchanged: 250, failed: 0 });
    // claims left from a run with hashes on would not be kept true by this one's writes
    expect((await claims(jobId)).size).toBe(0);
  });

  it("an unchanged re-sync writes no document and makes no Typesense request per window", async () => {
    const { jobId, collection } = await job("h_unchanged", 1050);
    expect((await run(jobId)).counters).toMatchObject({ imported: 1050, failed: 0 });
    // the stored hash is md5 of the text Postgres renders (the compared function)
    expect((await claims(jobId)).size).toBe(1050);
    const spy = counted();
    const again = await run(jobId, { backendFor: async () => spy.backend });
    expect(again.error).toBeNull();
    expect(again.counters).toMatchObject({ imported: 0, unchanged: 1050, deleted: 0 });
    expect(spy.calls.getDocuments ?? 0).toBe(0);
    expect((spy.calls.importJsonLines ?? 0) + (spy.calls.importDocuments ?? 0)).toBe(0);
    // ensure + read the collection, and the orphan sweep's one id export
    expect(spy.total()).toBeLessThanOrEqual(3);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_unchanged");
  });

  it("changed and new rows are re-sent, and only their pre-images are exported", async () => {
    const { jobId, collection } = await job("h_changed", 300);
    await run(jobId);
    await source.pool.query("update h_changed set qty = -1 where id in (5, 250)");
    await source.pool.query("insert into h_changed values (301, 'new', 1, null)");
    const spy = counted();
    const again = await run(jobId, { backendFor: async () => spy.backend });
    expect(again.counters).toMatchObject({ imported: 3, unchanged: 298 });
    // one export per window with candidates (ids 5, 250, 301: three windows)
    expect(spy.calls.getDocuments).toBe(3);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_changed");
    const third = await run(jobId);
    expect(third.counters).toMatchObject({ imported: 0, unchanged: 301 });
  });

  it("a doc the orphan sweep deleted loses its claim: the row coming back is re-sent", async () => {
    const { jobId, collection } = await job("h_sweep", 200);
    await run(jobId);
    await source.pool.query("delete from h_sweep where id = 7");
    expect((await run(jobId)).counters).toMatchObject({ deleted: 1 });
    expect((await claims(jobId)).has("7")).toBe(false);
    await source.pool.query("insert into h_sweep values (7, 'item 7 ✓', 7, array['t1'])");
    expect((await run(jobId)).counters).toMatchObject({ imported: 1 });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_sweep");
  });

  it("a CDC checkpoint deletes the claims of the docs it wrote, deleted or had rejected", async () => {
    const { jobId } = await job("h_cdc", 50);
    await run(jobId);
    await persistCheckpoint(db.pool, "no-such-client", [], {
      lsn: null,
      commitTimeMs: Number.NaN,
      lagMs: Number.NaN,
      oldestCommitTimeMs: Number.NaN,
      applied: 2,
      rejections: [
        { jobId, docId: "9", operation: "upsert", payload: null, code: 400, error: "x" },
      ],
      written: new Map([[jobId, ["3", "4"]]]),
    });
    const left = await claims(jobId);
    expect(left.size).toBe(47);
    for (const id of ["3", "4", "9"]) expect(left.has(id)).toBe(false);
  });

  it("a CDC write the re-sync cannot see is re-sent after its claim went", async () => {
    const { jobId, collection } = await job("h_cdc_doc", 50);
    await run(jobId);
    // a CDC write of a newer row image, then the row changes back (no CDC yet)
    await fx.backend.importDocuments(collection, [{ id: "3", name: "cdc", qty: 0 }], {
      action: "upsert",
    });
    await persistCheckpoint(db.pool, "no-such-client", [], {
      lsn: null,
      commitTimeMs: Number.NaN,
      lagMs: Number.NaN,
      oldestCommitTimeMs: Number.NaN,
      applied: 1,
      rejections: [],
      written: new Map([[jobId, ["3"]]]),
    });
    expect((await run(jobId)).counters).toMatchObject({ imported: 1, unchanged: 49 });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_cdc_doc");
  });

  it("a saga rollback of a re-sync leaves no claim on a doc it restored", async () => {
    const { jobId, collection } = await job("h_rollback", 300);
    await run(jobId);
    await source.pool.query("update h_rollback set qty = -2 where id in (10, 150, 260)");
    let windows = 0;
    const failed = await run(jobId, {
      onWindowCommitted: () => {
        // after the first window (which re-sent id 10): every import fails
        if (++windows === 1) fx.failNextImports(3);
      },
    });
    expect(failed.error).not.toBeNull();
    // the rollback restored doc 10's pre-image; the next run must send it again
    const next = await run(jobId);
    expect(next.counters).toMatchObject({ imported: 3 });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_rollback");
  });

  it("a rejected line is never claimed: the next run compares it with Typesense again", async () => {
    const { jobId } = await job("h_reject", 120);
    const rejecting = counted();
    const real = rejecting.backend;
    const backend: SyncBackend = {
      ...bind(real),
      importJsonLines: async (c, lines, ids, o) => {
        const res = await real.importJsonLines!(c, lines, ids, o);
        return res.map((r, i) =>
          ids[i] === "42"
            ? { ok: false as const, id: "42", code: 400, error: "rejected in test" }
            : r,
        );
      },
    };
    expect((await run(jobId, { backendFor: async () => backend })).counters).toMatchObject({
      failed: 1,
    });
    expect((await claims(jobId)).has("42")).toBe(false);
    // the fake rejection let the doc land: found equal by the export, claimed now
    const spy = counted();
    const again = await run(jobId, { backendFor: async () => spy.backend });
    expect(spy.calls.getDocuments).toBe(1);
    expect(again.counters).toMatchObject({ imported: 0, unchanged: 120 });
    expect((await claims(jobId)).has("42")).toBe(true);
  });

  it("a collection found empty drops the job's claims on it: a resumed run writes every row", async () => {
    const { jobId, collection } = await job("h_empty", 300);
    await run(jobId);
    const ids = Array.from({ length: 300 }, (_, i) => String(i + 1));
    await fx.backend.deleteDocuments(collection, ids);
    // interrupted after its first window: the resumed attempt finds a
    // collection that is not empty and compares the rest through the claims
    const ctl = new AbortController();
    const first = await engine({
      onWindowCommitted: () => ctl.abort(),
    }).runJob(jobId, { trigger: "manual", signal: ctl.signal });
    expect(first.status).toBe("interrupted");
    const again = await run(jobId);
    expect(again).toMatchObject({ status: "succeeded", resumed: true });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_empty");
  });

  it("a failed write that landed leaves no claim: the row changing back is re-sent", async () => {
    const { jobId, collection } = await job("h_partial", 100);
    await run(jobId);
    await source.pool.query("update h_partial set name = 'v2' where id = 5");
    // the import lands in Typesense, then the call fails for good (no retry, saga off)
    const real = fx.backend;
    const landing: SyncBackend = {
      ...bind(real),
      importJsonLines: async (c, lines, ids, o) => {
        await real.importJsonLines(c, lines, ids, o);
        throw new Error("connection reset after the import landed");
      },
    };
    const failed = await run(jobId, { backendFor: async () => landing, sagaBackupEnabled: false });
    expect(failed.error).not.toBeNull();
    // Typesense holds v2 now; the row goes back to what the old claim names
    await source.pool.query("update h_partial set name = 'item 5 ✓' where id = 5");
    expect((await run(jobId)).counters).toMatchObject({ imported: 1, unchanged: 99 });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_partial");
  });

  it("a rebuild's swap hands the new version's claims to the alias and drops the old ones", async () => {
    const { jobId, collection } = await job("h_swap", 150);
    await run(jobId);
    await source.pool.query("update h_swap set name = 'B' where id = 5");
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await engine().runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    const keyed = await db.pool.query<{ collection: string; n: number }>(
      `select collection, count(*)::int as n from typesense_sync_doc_hashes
        where job_id = $1 group by collection`,
      [jobId],
    );
    expect(keyed.rows).toEqual([{ collection, n: 150 }]);
    // the plain collection's claim on id 5 (name 'item 5') must not survive in v1
    await source.pool.query("update h_swap set name = 'item 5 ✓' where id = 5");
    expect((await run(jobId)).counters).toMatchObject({ imported: 1, unchanged: 149 });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "h_swap");
  });
});

/** A backend's methods bound to it (so a spread keeps working). */
function bind(b: SyncBackend): SyncBackend {
  const out: Record<string, unknown> = {};
  for (const k of [
    "importDocuments",
    "importJsonLines",
    "deleteDocuments",
    "exportIds",
    "ensureCollection",
    "getCollection",
    "getDocuments",
  ] as const) {
    const f = (b as unknown as Record<string, unknown>)[k];
    if (typeof f === "function") out[k] = f.bind(b);
  }
  return out as unknown as SyncBackend;
}
