import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RebuildPausePoint } from "../../src/fullsync/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { backendFor, insertProfile, waitFor } from "../cdc/helpers.js";
import { spawnCli, waitForOutput } from "../support/cli.js";
import { createDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { createProducts, expectCollectionEqualsTable } from "./support.js";

/*
 * kill -9 per rebuild stage (issue 16 point 5). The real `serve` runs in a
 * child process; the Typesense emulator runs in this (the test's) process, so
 * it survives the kills. Five jobs, each on v1 behind its alias after its first sync, then
 * rebuilt to v2 by a `serve` whose config pauses each job's rebuild at its own
 * point (testing.rebuild_pause_at: after-create, mid-build, before-swap,
 * after-swap, before-drop). Once every job is paused there, the process is
 * SIGKILLed and started again without pauses. Then, for each job: exactly one
 * live version behind the alias (the job row agrees), the run ended honestly
 * (status + rebuild_stage + reason), no `__v` collection of the job but the
 * live one once the keep period (3 s) ended, and the alias' documents equal
 * the table's.
 */

const ADMIN = "rebuild-kill-admin-key-0123456789";
const KEEP_SECONDS = 3;
const ROWS = 600;
const POINTS: readonly RebuildPausePoint[] = [
  "after-create",
  "mid-build",
  "before-swap",
  "after-swap",
  "before-drop",
];

const db = useTestDatabase();
const ts = useTypesense();

describe("kill -9 of serve at each rebuild stage", () => {
  let source: { url: string; pool: pg.Pool; drop: () => Promise<void> };
  let backend: TypesenseBackend;
  let dir: string;
  const children: ReturnType<typeof spawnCli>[] = [];

  beforeAll(async () => {
    const created = await createDatabase("rbkill");
    source = { ...created, pool: new pg.Pool({ connectionString: created.url, max: 4 }) };
    backend = backendFor(ts.url, ts.apiKey);
    dir = mkdtempSync(join(tmpdir(), "rebuild-kill-"));
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map((c) => c.result));
    await source?.pool.end();
    await source?.drop();
  });

  /** serve with the given pauses (job id -> point), started fresh; its URL once listening. */
  async function startServe(pauses: Record<string, RebuildPausePoint> = {}) {
    const file = join(dir, `c${children.length}.yaml`);
    writeFileSync(
      file,
      `control_database_url: ${db.url}
server:
  host: 127.0.0.1
  port: 0
postgres_clients:
  shop:
    url: ${source.url}
auth:
  admin_key: "${ADMIN}"
typesense:
  allow_http: true
  sync_worker_poll_ms: 100
  import_retry_base_ms: 10
fullsync:
  lease_ttl_ms: 1500
  max_concurrent_runs: 8
  rebuild_sweep_interval_ms: 200
cdc:
  enabled: false
testing:
  rebuild_pause_at: ${JSON.stringify(pauses)}
log:
  level: info
`,
    );
    const child = spawnCli(["serve", "--config", file]);
    children.push(child);
    const out = await waitForOutput(child, (o) => o.includes("http server listening"));
    return { child, url: /"url":"(http:\/\/[^"]+)"/.exec(out)![1]! };
  }

  async function kill(child: ReturnType<typeof spawnCli>) {
    child.kill("SIGKILL");
    await child.result;
  }

  async function api(url: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { "x-athena-key": ADMIN, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as { data: Record<string, unknown> } };
  }

  /** The job's newest run, once closed. */
  async function closedRun(jobId: string) {
    const r = await db.pool.query(
      `select id, status, trigger, rebuild_stage, error_message from typesense_sync_runs
        where job_id = $1 order by created_at desc limit 1`,
      [jobId],
    );
    const run = r.rows[0];
    return run && run.status !== "queued" && run.status !== "running" ? run : null;
  }

  async function rebuild(url: string, jobId: string): Promise<string> {
    const r = await api(url, "POST", `/typesense/sync-jobs/${jobId}/rebuild`, {});
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    return String(r.json.data.run_id);
  }

  async function versionsOf(alias: string): Promise<string[]> {
    const names = (await backend.listCollections()).map((c) => c.name);
    return names.filter((n) => n.startsWith(`${alias}__v`)).sort();
  }

  /** The rebuild's step and what Typesense holds, read while the process is paused. */
  async function stateAtKill(jobId: string, alias: string) {
    const r = await db.pool.query(
      `select rebuild_stage as stage, status from typesense_sync_runs
        where job_id = $1 order by created_at desc limit 1`,
      [jobId],
    );
    const target = (await backend.getAlias(alias))?.collection_name;
    const n = (await backend.getCollection(`${alias}__v2`))?.num_documents;
    return {
      ...r.rows[0],
      alias: target === `${alias}__v2` ? 2 : target === `${alias}__v1` ? 1 : target,
      v2: n === 0 ? "empty" : n === ROWS ? "complete" : n === undefined ? "absent" : "partial",
      v1: (await backend.getCollection(`${alias}__v1`)) !== null,
    };
  }

  it("resumes every stage to one live, complete version behind the alias, with no orphan past the keep period", async () => {
    const started = Date.now();
    let serve = await startServe();
    const profileId = await insertProfile(db.pool, ts.url, ts.apiKey);
    const jobs: { point: RebuildPausePoint; jobId: string; alias: string; table: string }[] = [];
    for (const point of POINTS) {
      const table = `p_kill_${point.replace("-", "_")}`;
      await createProducts(source.pool, table, ROWS);
      const alias = ts.uniqueName(table);
      const created = await api(serve.url, "POST", "/typesense/sync-jobs", {
        profile_id: profileId,
        source_client_name: "shop",
        source_table_name: table,
        collection_name: alias,
        document_id_column: "id",
        queryable_fields: ["name"],
        cdc_enabled: false,
        window_size: 50,
      });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      jobs.push({ point, jobId: String(created.json.data.id), alias, table });
    }
    // the first syncs: new jobs start on v1 behind their alias (docs/full-sync.md)
    for (const j of jobs) {
      await waitFor(`first sync of ${j.point}`, () => closedRun(j.jobId), 30_000);
      expect(await closedRun(j.jobId)).toMatchObject({ status: "succeeded" });
      expect((await backend.getAlias(j.alias))?.collection_name).toBe(`${j.alias}__v1`);
    }
    await db.pool.query(
      "update typesense_sync_jobs set rebuild_keep_previous_seconds = $1 where id = any($2::uuid[])",
      [KEEP_SECONDS, jobs.map((j) => j.jobId)],
    );
    await kill(serve.child);
    console.info(`rebuild-kill: set up in ${Math.round((Date.now() - started) / 1000)} s`);

    // each job's rebuild to v2 pauses at its point; then kill -9
    serve = await startServe(Object.fromEntries(jobs.map((j) => [j.jobId, j.point])));
    const runs = new Map<string, string>();
    for (const j of jobs) runs.set(j.jobId, await rebuild(serve.url, j.jobId));
    await waitForOutput(
      serve.child,
      (o) => jobs.every((j) => o.includes(`"point":"${j.point}","jobId":"${j.jobId}"`)),
      30_000,
    );
    const atKill = await Promise.all(jobs.map((j) => stateAtKill(j.jobId, j.alias)));
    await kill(serve.child);
    // where each kill landed (the run's step, the alias, v2's documents; v1 exists at all)
    expect(atKill).toEqual([
      { stage: "build", status: "running", alias: 1, v2: "empty", v1: true },
      { stage: "build", status: "running", alias: 1, v2: "partial", v1: true },
      { stage: "swap", status: "running", alias: 1, v2: "complete", v1: true },
      { stage: "swap", status: "running", alias: 2, v2: "complete", v1: true },
      { stage: "drop", status: "succeeded", alias: 2, v2: "complete", v1: true },
    ]);

    // restarted without pauses: every job ends on v2, v1 dropped after the keep period
    serve = await startServe();
    for (const j of jobs) {
      const settled = async () => {
        const run = await closedRun(j.jobId);
        if (run?.id !== runs.get(j.jobId) || run.rebuild_stage !== "done") return null;
        const versions = await versionsOf(j.alias);
        return versions.length === 1 ? run : null;
      };
      const run = await waitFor(`rebuild of ${j.point} settled`, settled, 30_000);
      expect(run, j.point).toMatchObject({ status: "succeeded", error_message: null });
      const job = await db.pool.query(
        "select live_version, building_version from typesense_sync_jobs where id = $1",
        [j.jobId],
      );
      expect(job.rows[0], j.point).toEqual({ live_version: 2, building_version: null });
      expect((await backend.getAlias(j.alias))?.collection_name, j.point).toBe(`${j.alias}__v2`);
      expect(await versionsOf(j.alias), j.point).toEqual([`${j.alias}__v2`]);
      await expectCollectionEqualsTable(backend, j.alias, source.pool, j.table);
    }
    await kill(serve.child);
    console.info(`rebuild-kill: one run took ${Math.round((Date.now() - started) / 1000)} s`);
  }, 120_000);
});
