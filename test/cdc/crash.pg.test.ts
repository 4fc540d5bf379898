import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { createWindowReader } from "../../src/documents/window-reader.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { createDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { backendFor, docsOf, insertJob, insertProfile, streamRow, waitFor } from "./helpers.js";
import type { ChildConfig } from "./stream-child.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "stream-child.ts");
const db = useTestDatabase();
const ts = useTypesense();

function spawnChild(cfg: ChildConfig): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(cfg)], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    out += String(d);
  });
  return Object.assign(child, { output: () => out });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) r(c.exitCode);
    else c.once("exit", (code) => r(code));
  });

describe("SIGKILL of the process running the stream, under concurrent writes", () => {
  let source: { url: string; drop: () => Promise<void> };
  let sourcePool: pg.Pool;
  let backend: TypesenseBackend;
  let coll: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    source = await createDatabase("src");
    sourcePool = new pg.Pool({ connectionString: source.url, max: 6 });
    await sourcePool.query(
      "create table kv (id int primary key, val text not null, n int not null, note text)",
    );
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("kv");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await insertJob(db.pool, {
      profileId: profile,
      client: "crash",
      table: "kv",
      collection: coll,
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map(exited));
    await sourcePool?.end();
    await source?.drop();
  });

  it("ends with the collection equal to the table after repeated kill -9 and restarts", async () => {
    const cfg = (i: number): ChildConfig => ({
      controlUrl: db.url,
      sourceUrl: source.url,
      client: "crash",
      typesenseUrl: ts.url,
      apiKey: ts.apiKey,
      instanceId: `child-${i}`,
      slotPrefix: "crash",
      flushMaxDocs: 50,
    });
    let child = spawnChild(cfg(0));
    children.push(child);
    await waitFor(
      "first stream up",
      async () => (await streamRow(db.pool, "crash"))?.status === "streaming",
      60_000,
    );

    // concurrent writer: single-row and multi-row transactions, updates, deletes, PK moves
    let writing = true;
    let seq = 0;
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const writer = (async () => {
      while (writing) {
        const c = await sourcePool.connect();
        try {
          await c.query("begin");
          const k = 1 + rnd(6);
          for (let i = 0; i < k; i++) {
            const id = rnd(300);
            const op = rnd(10);
            seq++;
            if (op < 5) {
              await c.query(
                `insert into kv values ($1, $2, $3, $4) on conflict (id)
                 do update set val = excluded.val, n = kv.n + 1, note = excluded.note`,
                [id, `v${seq}`, seq, op === 0 ? null : `note ${seq}`],
              );
            } else if (op < 8) {
              await c.query("update kv set val = $2, n = n + 1 where id = $1", [id, `u${seq}`]);
            } else if (op < 9) {
              await c.query("delete from kv where id = $1", [id]);
            } else {
              await c.query(
                "update kv set id = $2 where id = $1 and not exists (select 1 from kv where id = $2)",
                [id, 300 + rnd(300)],
              );
            }
          }
          await c.query("commit");
        } catch {
          await c.query("rollback").catch(() => {});
        } finally {
          c.release();
        }
        if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const kills = 10;
    for (let i = 1; i <= kills; i++) {
      await new Promise((r) => setTimeout(r, 400 + rnd(900)));
      child.kill("SIGKILL");
      await exited(child);
      child = spawnChild(cfg(i));
      children.push(child);
      // the new process takes the lead and streams again before the next kill
      await waitFor(
        `restart ${i} leads`,
        async () => (await streamRow(db.pool, "crash"))?.leader_instance === `child-${i}`,
        60_000,
      );
    }
    writing = false;
    await writer;
    expect(seq).toBeGreaterThan(100);

    // every document equals what full sync would build from the table now
    const table = await describeTable(sourcePool, { schema: "public", table: "kv" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const reader = createWindowReader({ source: sourcePool, mapper });
    const expected = async () => {
      const ids = await sourcePool.query<{ id: string }>("select id::text as id from kv");
      return (await reader.read(ids.rows.map((r) => r.id))).documents;
    };
    const want = await expected();
    await waitFor(
      "collection equals table",
      async () => {
        const got = await docsOf(backend, coll);
        if (got.size !== want.size) return false;
        for (const [id, doc] of want) {
          if (!isDeepStrictEqual(got.get(id), doc)) return false;
        }
        return true;
      },
      60_000,
    );
    const got = await docsOf(backend, coll);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, doc] of want) expect(got.get(id)).toEqual(doc);

    // a clean stop drains and exits 0
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    expect(child.output()).toContain("child stopped cleanly");
  }, 240_000);
});
