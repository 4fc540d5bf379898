import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import type { CdcBackend } from "../../src/cdc/writer.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { createWindowReader } from "../../src/documents/window-reader.js";
import { parseJson, serializeDocument } from "../../src/json/codec.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { EVERY_TYPE_DDL, EVERY_TYPE_ROWS } from "../support/every-type.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";
import { useWal2jsonSource } from "./wal2json-source.js";

/**
 * The stream with `cdc.plugin: wal2json` against a real server with the plugin
 * (Debian's postgresql-15-wal2json in a throwaway cluster, or
 * WAL2JSON_DATABASE_URL), side by side with a pgoutput stream over the same
 * table: every write each one sends to Typesense must be byte-identical.
 */
const control = useTestDatabase();
const src = useWal2jsonSource();
const ts = useTypesense();

/** Every Typesense call of one stream, per document id, in order. */
type Log = Map<string, string[]>;

function recording(inner: TypesenseBackend, log: Log): TypesenseBackend {
  const add = (id: string, entry: string) => {
    const l = log.get(id) ?? [];
    l.push(entry);
    log.set(id, l);
  };
  const over: CdcBackend = {
    async importDocuments(collection, docs, options) {
      for (const d of docs) {
        // the CDC writer sends JSONL lines (serialized once, when the change was decoded)
        const line = typeof d === "string" ? d : serializeDocument(d);
        add(String((parseJson(line) as { id: unknown }).id), `${options.action} ${line}`);
      }
      return inner.importDocuments(collection, docs, options);
    },
    async deleteDocuments(collection, ids) {
      for (const id of ids) add(id, "delete");
      return inner.deleteDocuments(collection, ids);
    },
    exportIds: (c) => inner.exportIds(c),
    ensureCollection: inner.ensureCollection?.bind(inner),
    truncate: inner.truncate
      ? async (c) => {
          add("*", "truncate");
          return inner.truncate!(c);
        }
      : undefined,
  };
  // the inner backend's other methods, with the CDC calls recorded
  return Object.assign(Object.create(inner) as TypesenseBackend, over);
}

describe("wal2json stream against a server with the plugin", () => {
  const logs = { w2j: new Map() as Log, pgo: new Map() as Log };
  const colls = { w2j: "", pgo: "" };
  const streams: RunningStream[] = [];
  let source: pg.Pool;

  beforeAll(async () => {
    source = new pg.Pool({ connectionString: src.url, max: 4 });
    await source.query(EVERY_TYPE_DDL);
    const profile = await insertProfile(control.pool, ts.url, ts.apiKey);
    const backend = backendFor(ts.url, ts.apiKey);
    for (const client of ["w2j", "pgo"] as const) {
      colls[client] = ts.uniqueName(`every_${client}`);
      await insertJob(control.pool, {
        profileId: profile,
        client,
        table: "every_type",
        collection: colls[client],
      });
      streams.push(
        runStream({
          control: control.pool,
          source,
          sourceUrl: src.url,
          client,
          backend: recording(backend, logs[client]),
          log: silentLogger(),
          // both flush only at commit (or after 1 s): equal batches on both paths
          cdc: { plugin: client === "w2j" ? "wal2json" : "pgoutput", flush_interval_ms: 1000 },
        }),
      );
    }
    for (const client of ["w2j", "pgo"]) {
      await waitFor(`${client} streaming`, async () => {
        const r = await streamRow(control.pool, client);
        return r?.status === "streaming";
      });
    }
    const plugins = await source.query<{ slot_name: string; plugin: string }>(
      "select slot_name, plugin from pg_replication_slots order by 1",
    );
    expect(plugins.rows.map((r) => r.plugin)).toEqual(["pgoutput", "wal2json"]);
  });
  afterAll(async () => {
    for (const s of streams) await s.stop();
    await source?.end();
  });

  /** Runs `sql`, waits until both collections satisfy `ready`, compares both logs. */
  async function phase(sql: string, ready: (ids: string[]) => boolean): Promise<void> {
    await source.query(sql);
    for (const c of ["w2j", "pgo"] as const) {
      await waitFor(`${c} applied`, async () =>
        ready([...(await docsOf(backendOf(), colls[c])).keys()].sort()),
      );
    }
    // every id written by both, in the same order, with the same bytes
    await waitFor(
      "same writes",
      () => JSON.stringify([...logs.w2j].sort()) === JSON.stringify([...logs.pgo].sort()),
      5000,
    ).catch(() => {});
    expect([...logs.w2j].sort()).toEqual([...logs.pgo].sort());
  }
  const backendOf = () => backendFor(ts.url, ts.apiKey);

  async function fullSyncDocs(): Promise<Map<string, string>> {
    const table = await describeTable(source, { schema: "public", table: "every_type" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const ids = (await source.query<{ id: string }>("select id::text from every_type")).rows.map(
      (r) => r.id,
    );
    const read = await createWindowReader({ source, mapper }).read(ids);
    return new Map([...read.documents].map(([id, d]) => [id, serializeDocument(d)]));
  }

  it("inserts of every mapped type: same bytes as pgoutput and as full sync", async () => {
    await phase(EVERY_TYPE_ROWS, (ids) => ids.length === 5);
    const expected = await fullSyncDocs();
    expect(expected.size).toBe(5);
    for (const [id, doc] of expected) {
      // (the first import may be repeated once: it created the collection)
      expect(new Set(logs.w2j.get(id))).toEqual(new Set([`upsert ${doc}`]));
    }
  });

  it("updates (TOAST unchanged), PK change, delete", async () => {
    await phase(
      `begin;
       update every_type set i4 = 7, b = false, ta = '{z}' where id = 2;
       update every_type set i2 = 1 where id = 3;
       update every_type set id = 40 where id = 4;
       delete from every_type where id = 5;
       commit;`,
      (ids) => ids.join() === "1,2,3,40",
    );
    // row 3's 1 MB text was not sent: a partial update of the known fields
    expect(logs.w2j.get("3")?.at(-1)).toMatch(/^update \{"id":"3","i2":1,/);
    expect(logs.w2j.get("3")?.at(-1)).not.toContain("ab ✓");
    expect(logs.w2j.get("4")?.at(-1)).toBe("delete");
    expect(logs.w2j.get("5")?.at(-1)).toBe("delete");
    const expected = await fullSyncDocs();
    const w2j = await docsOf(backendOf(), colls.w2j);
    const pgo = await docsOf(backendOf(), colls.pgo);
    expect([...w2j.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const id of expected.keys()) expect(w2j.get(id)).toEqual(pgo.get(id));
    expect(logs.w2j.get("2")?.at(-1)).toBe(`upsert ${expected.get("2")}`);
  });

  it("truncate empties the collection; later inserts arrive", async () => {
    await phase(
      "truncate every_type; insert into every_type (id, t) values (7, 'after');",
      (ids) => ids.join() === "7",
    );
    expect(logs.w2j.get("*")).toEqual(logs.pgo.get("*"));
    const s = await streamRow(control.pool, "w2j");
    expect(s?.status).toBe("streaming");
    expect(s?.last_error).toBeNull();
  });
});
