import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestRebuild } from "../../src/coordination/request-run.js";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { createFullSyncEngine } from "../../src/fullsync/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import {
  backendFor,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  waitFor,
} from "../cdc/helpers.js";
import { admin, jsonInit, useListeningServer, useTestApp } from "../http/fixture.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";

/*
 * Issue 16 point 4: searchers see no gap during a rebuild. A 200k-row job
 * with CDC on is rebuilt v1 -> v2 while a writer commits inserts, updates and
 * deletes, and a prober searches through the sidecar's /typesense/search
 * (real HTTP, the app the http tests use) and straight at the alias with the
 * official typesense client. Each probe reads the source's row count just
 * BEFORE it searches; `found` must never be below it minus SLACK:
 *   SLACK = the changes the stream may not have applied yet when the search
 *   runs: the writer commits at most ~200 rows/s (5 inserts per tick of >= 25
 *   ms), and CDC lags up to ~2 s behind while the build's windows saturate the
 *   emulator: 400 rows. A half-built v2 (swap before the build ended) is ~100k
 *   below; a v2 without the rows inserted during its build (no dual-write) is
 *   the build's seconds times 200 below (thousands).
 * Control and source are the same database (logical replication on it).
 */
const ROWS = 200_000;
const SLACK = 400;
const db = useTestDatabase();
const ts = useTypesense();
const log = silentLogger();
const t = useTestApp(db, () => log, { clients: () => ({ rbp: db.url }) });
const server = useListeningServer(t, () => log);
let backend: TypesenseBackend;
let stream: RunningStream | undefined;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
});
afterAll(async () => {
  await stream?.stop();
  await backend.close();
});

describe("rebuild prober", () => {
  it("a 200k-doc rebuild under CDC writes: no errors, no answer from a half-built version", {
    timeout: 120_000,
  }, async () => {
    await db.pool.query("create table rbp_items (id int primary key, v text not null)");
    await db.pool.query(
      `insert into rbp_items select g, 'item ' || g from generate_series(1, ${ROWS}) g`,
    );
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    const collection = ts.uniqueName("rbp_items");
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "rbp",
      table: "rbp_items",
      collection,
    });
    const registry = createWatermarkRegistry();
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "rbp",
      backend,
      log,
      watermarks: registry,
      cdc: { slot_prefix: "t_rbp" },
    });
    await waitFor("streaming", () => registry.isStreaming(jobId));
    const engine = createFullSyncEngine({
      control: db.pool,
      source: () => db.pool,
      backendFor: async () => backend,
      owner: "test",
      log,
      importMaxAttempts: 3,
      importRetryBaseMs: 1,
      sagaBackupEnabled: false,
      leaseTtlMs: 30_000,
      windowSize: 10_000,
      watermarks: registry,
    });
    // v1 behind the alias (the job never had a plain collection), no prober yet
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await engine.runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    expect((await backend.getAlias(collection))?.collection_name).toBe(`${collection}__v1`);

    // v1 -> v2 under writes and probes
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    let done = false;
    const errors: string[] = [];
    const low: string[] = [];
    let probes = 0;
    let nextId = ROWS + 1;
    const writer = (async () => {
      while (!done) {
        const from = nextId;
        nextId += 5;
        await db.pool.query(
          `insert into rbp_items select g, 'new ' || g from generate_series($1::int, $2::int) g`,
          [from, from + 4],
        );
        await db.pool.query("update rbp_items set v = v || '+' where id = $1", [
          1 + Math.floor(Math.random() * ROWS),
        ]);
        await db.pool.query("delete from rbp_items where id = $1", [
          1 + Math.floor(Math.random() * ROWS),
        ]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const count = async () =>
      Number((await db.pool.query("select count(*) as n from rbp_items")).rows[0].n);
    const probe = async (via: string, search: () => Promise<number>) => {
      const before = await count();
      try {
        const found = await search();
        probes++;
        if (found < before - SLACK) low.push(`${via}: found ${found}, source had ${before}`);
      } catch (e) {
        errors.push(`${via}: ${(e as Error).message}`);
      }
    };
    const prober = (async () => {
      while (!done) {
        await probe("sidecar", async () => {
          const res = await fetch(
            `${server.base}/typesense/search`,
            jsonInit("POST", { job_id: jobId, q: "*", query_by: "v", per_page: 0 }, admin),
          );
          const body = (await res.json()) as { data?: { result?: { found?: number } } };
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
          return body.data?.result?.found ?? -1;
        });
        await probe("alias", async () => {
          const r = await ts.client
            .collections(collection)
            .documents()
            .search({ q: "*", query_by: "v", per_page: 0 });
          return r.found;
        });
      }
    })();
    const r = await engine.runJob(jobId, { trigger: "schedule" });
    // probe the swapped alias a little longer, under writes
    await new Promise((res) => setTimeout(res, 1500));
    done = true;
    await Promise.all([writer, prober]);
    expect(r).toMatchObject({ status: "succeeded", error: null });
    expect((await backend.getAlias(collection))?.collection_name).toBe(`${collection}__v2`);
    expect(errors).toEqual([]);
    expect(low).toEqual([]);
    expect(probes).toBeGreaterThan(20);
    // settled: the live version equals the source's count
    const n = await count();
    await waitFor("settled", async () => {
      const s = await ts.client
        .collections(collection)
        .documents()
        .search({ q: "*", query_by: "v" });
      return s.found === n;
    });
  });
});
