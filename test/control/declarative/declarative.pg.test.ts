import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { backendConnection } from "../../../src/control/backends.js";
import {
  ApplyLockedError,
  applyJobsFile,
  type DeclarativeDeps,
  exportJobs,
  JobsFileError,
  planJobsFile,
} from "../../../src/control/declarative/index.js";
import { ConflictError } from "../../../src/control/errors.js";
import { createSecretBox } from "../../../src/control/secret-box.js";
import { startRetargetResync } from "../../../src/coordination/retarget.js";
import { createPools, type Pools } from "../../../src/db/pool.js";
import { capturingLogger } from "../../support/log.js";
import { useTestDatabase } from "../../support/pg.js";

// jobs export | plan | apply on a real control DB, which is also the source
// database of client "app" (validateJobSource reads its catalog).
const db = useTestDatabase();
const cap = capturingLogger("debug");
const KEY = "ts-secret-key-0123456789-abcdef";
const OTHER_KEY = "ts-other-key-9876543210-zyxwvu";
let pools: Pools;
let deps: DeclarativeDeps;

beforeAll(async () => {
  pools = createPools({ controlUrl: db.url, clients: { app: { url: db.url } }, log: cap.log });
  deps = {
    pools,
    box: createSecretBox("ab".repeat(32)),
    allowHttp: true,
    windowSize: 500,
    onRetarget: (c, job, changed, rebuild) => startRetargetResync(c, job, changed, false, rebuild),
  };
  await db.pool.query(
    "create table books (id int primary key, title text not null, author text, year int)",
  );
  await db.pool.query(
    "insert into books select g, 'Book ' || g, 'A', 2000 from generate_series(1, 5) g",
  );
});
afterAll(async () => {
  await pools.close();
});
beforeEach(async () => {
  await db.pool.query("delete from typesense_sync_jobs");
  await db.pool.query("delete from typesense_profiles");
});

const FILE = "conf/jobs.yaml";
const base = `version: 1
backends:
  - name: main
    base_url: http://ts.example.test:8108/
    api_key: \${TS_MAIN_KEY}
    timeout_ms: 4000
jobs:
  - backend: main
    collection_name: books
    source_client_name: app
    source_table_name: books
    document_id_column: id
    queryable_fields: [title]
    sync_interval_seconds: 600
`;
const env = { TS_MAIN_KEY: KEY };
const input = (text: string, e: Record<string, string> = env, prune = false) => ({
  text,
  file: FILE,
  env: e,
  prune,
});
const lines: string[] = [];
const report = (t: string) => lines.push(t);
const apply = (text: string, e: Record<string, string> = env, prune = false) =>
  applyJobsFile(deps, input(text, e, prune), report);

async function fileError(p: Promise<unknown>): Promise<JobsFileError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(JobsFileError);
  return e as JobsFileError;
}

const jobRows = async () =>
  (await db.pool.query("select * from typesense_sync_jobs order by collection_name")).rows;
const backendRows = async () =>
  (await db.pool.query("select * from typesense_profiles order by name")).rows;

describe("jobs apply", () => {
  it("creates what the file lists, expanding ${VAR} keys; a second apply changes nothing", async () => {
    const first = await apply(base);
    expect(first).toEqual({ created: 2, updated: 0, deleted: 0 });
    const [b] = await backendRows();
    expect(b).toMatchObject({
      name: "main",
      base_url: "http://ts.example.test:8108",
      timeout_ms: 4000,
    });
    // the key is the variable's value, sealed like the API seals it
    expect(String(b.api_key_stored)).toMatch(/^enc:/);
    expect((await backendConnection(db.pool, deps.box, b.id)).apiKey).toBe(KEY);
    const [j] = await jobRows();
    // fields the file leaves out get the API's defaults (window_size: the config's)
    expect(j).toMatchObject({
      profile_id: b.id,
      collection_name: "books",
      source_schema_name: "public",
      included_columns: [],
      queryable_fields: ["title"],
      sync_interval_seconds: 600,
      window_size: 500,
      enabled: true,
    });
    const before = { jobs: await jobRows(), backends: await backendRows() };
    const again = await apply(base);
    expect(again).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(lines.at(-1)).toBe(`No changes: the control database matches ${FILE}.\n`);
    expect({ jobs: await jobRows(), backends: await backendRows() }).toEqual(before);
  });

  it("export -> apply on the same database is a no-op, and the export holds no key", async () => {
    await apply(base);
    await db.pool.query(
      "update typesense_sync_jobs set included_columns = '{id,title,author}', cdc_enabled = true, enabled = false",
    );
    const exported = await exportJobs(deps);
    expect(exported.yaml).not.toContain(KEY);
    expect(exported.yaml).toContain("api_key: ${TYPESENSE_API_KEY_MAIN}");
    expect(exported.keyVariables).toEqual({ main: "TYPESENSE_API_KEY_MAIN" });
    // every managed field is written, so the file describes the job fully
    for (const f of [
      "source_schema_name:",
      "window_size: 500",
      "cdc_enabled: true",
      "enabled: false",
    ]) {
      expect(exported.yaml).toContain(f);
    }
    const before = { jobs: await jobRows(), backends: await backendRows() };
    const p = await planJobsFile(deps, input(exported.yaml, { TYPESENSE_API_KEY_MAIN: KEY }, true));
    expect(p.changes).toBe(false);
    const r = await apply(exported.yaml, { TYPESENSE_API_KEY_MAIN: KEY }, true);
    expect(r).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect({ jobs: await jobRows(), backends: await backendRows() }).toEqual(before);
  });

  it("a retarget goes through the API's update: the job's resync is queued", async () => {
    await apply(base);
    const [j] = await jobRows();
    await apply(base.replace("queryable_fields: [title]", "queryable_fields: [title, author]"));
    expect(lines.join("")).toMatch(
      /updated job main\/books \(queryable_fields\): a full run of the new target is queued/,
    );
    const runs = await db.pool.query(
      "select trigger, status from typesense_sync_runs where job_id = $1",
      [j.id],
    );
    expect(runs.rows).toEqual([{ trigger: "resync", status: "queued" }]);
  });

  it("keeps objects the file does not list unless --prune, which deletes them", async () => {
    await apply(base);
    const without = "version: 1\nbackends: []\njobs: []\n";
    const kept = await planJobsFile(deps, input(without));
    expect(kept.changes).toBe(false);
    expect(kept.text).toContain("2 not in the file (kept; --prune deletes them)");
    expect(kept.text).toContain("  job main/books: not in the file, kept (--prune deletes it)");
    await apply(without);
    expect(await jobRows()).toHaveLength(1);
    const pruned = await apply(without, env, true);
    expect(pruned).toEqual({ created: 0, updated: 0, deleted: 2 });
    expect(await jobRows()).toHaveLength(0);
    expect(await backendRows()).toHaveLength(0);
  });

  it("renamed_from renames a backend and moved_from moves a job instead of creating new ones", async () => {
    await apply(base);
    const [b] = await backendRows();
    const [j] = await jobRows();
    const next = base
      .replace("  - name: main\n", "  - name: primary\n    renamed_from: main\n")
      .replace(
        "  - backend: main\n    collection_name: books\n",
        "  - backend: primary\n    collection_name: books_v2\n    moved_from: { backend: main, collection_name: books }\n",
      );
    const p = await planJobsFile(deps, input(next));
    expect(p.text).toContain(
      '~ backend "primary" (renamed from "main")\n    name: "main" -> "primary"',
    );
    expect(p.text).toContain(
      '~ job primary/books_v2 (was main/books) [retarget: a full resync of the new target follows]\n    collection_name: "books" -> "books_v2"',
    );
    expect(await apply(next)).toEqual({ created: 0, updated: 2, deleted: 0 });
    expect((await backendRows()).map((r) => [r.id, r.name])).toEqual([[b.id, "primary"]]);
    expect((await jobRows()).map((r) => [r.id, r.collection_name])).toEqual([[j.id, "books_v2"]]);
    // the old keys in the file are harmless once applied
    expect((await planJobsFile(deps, input(next))).changes).toBe(false);
  });
});

describe("jobs apply, refused", () => {
  it("stops at a job a run holds (as the API's 409); what came before stays, and plan shows the rest", async () => {
    await apply(base);
    await db.pool.query(
      "update typesense_sync_jobs set lease_owner = 'other', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'",
    );
    const next = base
      .replace("timeout_ms: 4000", "timeout_ms: 7000")
      .replace("queryable_fields: [title]", "queryable_fields: [title, author]");
    const e = await apply(next).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).message).toMatch(/is running; change its target/);
    expect((await backendRows())[0]?.timeout_ms).toBe(7000);
    const rest = await planJobsFile(deps, input(next));
    expect(rest.text).toContain("0 to create, 1 to update");
    expect(rest.text).toContain('queryable_fields: ["title"] -> ["title","author"]');
  });

  it("refuses while another apply holds the lock, writing nothing", async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query("select pg_advisory_lock($1, $2)", [0x41545344, 1]);
      await expect(apply(base)).rejects.toBeInstanceOf(ApplyLockedError);
      expect(await backendRows()).toHaveLength(0);
    } finally {
      await holder.query("select pg_advisory_unlock_all()");
      holder.release();
    }
  });
});

describe("jobs plan", () => {
  it("prints creates, then each changed field before -> after; the key only as its variable", async () => {
    const created = await planJobsFile(deps, input(base));
    expect(created.changes).toBe(true);
    expect(created.text).toBe(`Plan for ${FILE}: 2 to create, 0 to update, 0 to delete.

+ backend "main"
    name: "main"
    base_url: "http://ts.example.test:8108"
    timeout_ms: 4000
    api_key: \${TS_MAIN_KEY}

+ job main/books
    source_client_name: "app"
    source_schema_name: "public"
    source_table_name: "books"
    document_id_column: "id"
    included_columns: []
    queryable_fields: ["title"]
    sync_interval_seconds: 600
`);
    await apply(base);
    const edited = base
      .replace("timeout_ms: 4000", "timeout_ms: 9000")
      .replace("sync_interval_seconds: 600", "sync_interval_seconds: 60\n    enabled: false");
    const p = await planJobsFile(deps, input(edited, { TS_MAIN_KEY: OTHER_KEY }));
    expect(p.text).toBe(`Plan for ${FILE}: 0 to create, 2 to update, 0 to delete.

~ backend "main"
    timeout_ms: 4000 -> 9000
    api_key: (stored key differs from \${TS_MAIN_KEY})

~ job main/books
    sync_interval_seconds: 600 -> 60
    enabled: true -> false
`);
    expect(p.text).not.toContain(OTHER_KEY);
    await apply(edited, { TS_MAIN_KEY: OTHER_KEY });
    const [b] = await backendRows();
    expect((await backendConnection(db.pool, deps.box, b.id)).apiKey).toBe(OTHER_KEY);
  });
});

describe("an invalid jobs file changes nothing and names file, line and field", () => {
  it("a missing environment variable is named with the key that needs it", async () => {
    const e = await fileError(apply(base, {}));
    expect(e.message).toContain(
      `backends[0].api_key (${FILE}:5): environment variable TS_MAIN_KEY is not set`,
    );
    expect(await backendRows()).toHaveLength(0);
  });

  it("a literal key is refused", async () => {
    const e = await fileError(apply(base.replace("${TS_MAIN_KEY}", KEY)));
    expect(e.message).toContain(
      `backends[0].api_key (${FILE}:5): must be an environment variable reference`,
    );
    expect(e.message).not.toContain(KEY);
  });

  it("bad fields, unknown keys and a new job's missing fields are all listed", async () => {
    const bad = base
      .replace("sync_interval_seconds: 600", "sync_interval_seconds: 0\n    colour: red")
      .replace("    document_id_column: id\n", "");
    const e = await fileError(apply(bad));
    expect(e.message).toContain(`jobs[0].sync_interval_seconds (${FILE}:13): Too small`);
    expect(e.message).toContain(`jobs[0].colour (${FILE}:14): unknown key`);
    expect(await backendRows()).toHaveLength(0);
    const missing = await fileError(apply(base.replace("    document_id_column: id\n", "")));
    expect(missing.message).toContain(
      `jobs[0].document_id_column (${FILE}:8): required for a new job`,
    );
  });

  it("a job that does not fit its source table stops the whole apply before any write", async () => {
    const e = await fileError(
      apply(base.replace("source_table_name: books", "source_table_name: nope")),
    );
    expect(e.message).toContain(`jobs[0].source_table_name (${FILE}:`);
    expect(e.message).toContain('"public"."nope"');
    const col = await fileError(apply(base.replace("[title]", "[title, isbn]")));
    expect(col.message).toContain("isbn");
    // the backend before it was valid, and is not written either
    expect(await backendRows()).toHaveLength(0);
  });

  it("an unknown backend and a duplicate job key are named", async () => {
    const e = await fileError(apply(base.replace("  - backend: main", "  - backend: elsewhere")));
    expect(e.message).toContain(
      `jobs[0].backend (${FILE}:8): no backend named "elsewhere" in this file or in the control database`,
    );
    const twice = `${base}  - backend: main\n    collection_name: books\n    source_client_name: app\n    source_table_name: books\n    document_id_column: id\n    queryable_fields: [title]\n`;
    const d = await fileError(apply(twice));
    expect(d.message).toContain(
      'jobs[1].collection_name (conf/jobs.yaml:16): collection "books" on backend "main" is already jobs[0]',
    );
  });
});

it("no key reaches the logs of export, plan or apply", async () => {
  await apply(base);
  await planJobsFile(deps, input(base, { TS_MAIN_KEY: OTHER_KEY }));
  await apply(base, { TS_MAIN_KEY: OTHER_KEY });
  await exportJobs(deps);
  const all = cap.lines().join("\n") + lines.join("");
  expect(all).not.toContain(KEY);
  expect(all).not.toContain(OTHER_KEY);
});
