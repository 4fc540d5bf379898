import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { useTestDatabase } from "../support/pg.js";

// `athena-typesense-sync jobs export | plan | apply`, the real CLI as a child
// process on a real control DB (also the source DB of client "app").
describe("jobs export | plan | apply", () => {
  const db = useTestDatabase();
  const KEY = "cli-secret-key-0123456789abcdef";
  const dir = mkdtempSync(join(tmpdir(), "jobs-cli-"));
  const config = join(dir, "config.yaml");
  const file = join(dir, "jobs.yaml");

  beforeAll(async () => {
    await db.pool.query("create table films (id int primary key, title text not null)");
    writeFileSync(
      config,
      `control_database_url: ${db.url}
postgres_clients:
  app:
    url: ${db.url}
auth:
  admin_key: "0123456789abcdef0123"
security:
  encryption_key: "${"cd".repeat(32)}"
typesense:
  allow_http: true
log:
  level: debug
`,
    );
    writeFileSync(
      file,
      `version: 1
backends:
  - name: search
    base_url: http://ts.example.test:8108
    api_key: \${SEARCH_KEY}
jobs:
  - backend: search
    collection_name: films
    source_client_name: app
    source_table_name: films
    document_id_column: id
    queryable_fields: [title]
`,
    );
  });

  const cli = (args: string[], env: Record<string, string> = { SEARCH_KEY: KEY }) =>
    runCli(["jobs", ...args, "--config", config], { env });

  it("plan shows the creates (exit 3 with --detailed-exitcode), apply writes them, a second apply and export -> plan change nothing", async () => {
    const plan = await cli(["plan", "--file", file, "--detailed-exitcode"]);
    expect(plan.code, plan.stderr).toBe(3);
    expect(plan.stdout).toContain(`Plan for ${file}: 2 to create, 0 to update, 0 to delete.`);
    expect(plan.stdout).toContain("+ job search/films");
    const applied = await cli(["apply", "--file", file]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("Apply complete: 2 created, 0 updated, 0 deleted.");
    const again = await cli(["apply", "--file", file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("No changes");
    expect(again.stdout).toContain("Apply complete: 0 created, 0 updated, 0 deleted.");

    const exported = join(dir, "exported.yaml");
    const ex = await cli(["export", "--file", exported]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stderr).toContain('TYPESENSE_API_KEY_SEARCH  (backend "search")');
    const text = readFileSync(exported, "utf8");
    expect(text).toContain("api_key: ${TYPESENSE_API_KEY_SEARCH}");
    const roundTrip = await cli(["plan", "--file", exported, "--prune", "--detailed-exitcode"], {
      TYPESENSE_API_KEY_SEARCH: KEY,
    });
    expect(roundTrip.code, roundTrip.stdout + roundTrip.stderr).toBe(0);
    expect(roundTrip.stdout).toBe(`No changes: the control database matches ${exported}.\n`);
    // the key reached no output of any command, at log level debug
    for (const r of [plan, applied, again, ex, roundTrip]) {
      expect(r.stdout + r.stderr).not.toContain(KEY);
    }
    expect(text).not.toContain(KEY);
  });

  it("exits 2 naming a missing variable or a bad field, and 2 on bad usage", async () => {
    const missing = await cli(["plan", "--file", file], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `backends[0].api_key (${file}:5): environment variable SEARCH_KEY is not set`,
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(file, "utf8").replace("[title]", "title"));
    const r = await cli(["apply", "--file", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`jobs[0].queryable_fields (${bad}:12):`);
    const usage = await cli(["apply"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("usage: athena-typesense-sync jobs");
  });
});
