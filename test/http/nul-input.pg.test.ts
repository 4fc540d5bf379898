import { beforeAll, describe, expect, it } from "vitest";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { admin, jsonInit, useSourceDatabase, useTestApp } from "./fixture.js";

/**
 * A NUL character (U+0000; Postgres refuses it in text and jsonb: 22021) in
 * any path parameter, query parameter or JSON string field of any route is
 * 400 with a message naming the field, never 500. The cases are generated
 * from the app's own OpenAPI document, so a route or field added later is
 * covered without editing this file. The rest of each request is real (ids
 * of existing rows, a working body where one body fits the route), so
 * without the guard the NUL reaches SQL or Typesense: 17 of these cases
 * were a 500 before.
 */
const db = useTestDatabase();
const ts = useTypesense();
const src = useSourceDatabase("create table items (id int primary key, name text)");
const cap = capturingLogger("info");
const t = useTestApp(db, () => cap.log, { clients: () => ({ app: src.url }) });

const BAD = "a\u0000b";
/** Real ids for the path parameters the document names (filled in beforeAll). */
const ids: Record<string, string> = { source_client_name: "app" };
/** A valid body per route; the NUL replaces one field of it at a time. */
let bodies: Record<string, Record<string, unknown>> = {};

async function post(path: string, body: unknown): Promise<{ id: string }> {
  const res = await t.app.request(path, jsonInit("POST", body, admin));
  const j = (await res.json()) as { data: { id: string; key?: { id: string } } };
  expect(res.status, `${path}: ${JSON.stringify(j)}`).toBeLessThan(300);
  return j.data.key ?? j.data;
}

beforeAll(async () => {
  ids.backend_id = (
    await post("/typesense/backends", { name: "emu", base_url: ts.url, api_key: ts.apiKey })
  ).id;
  const job = {
    profile_id: ids.backend_id,
    source_client_name: "app",
    source_schema_name: "public",
    source_table_name: "items",
    collection_name: ts.uniqueName("items"),
    document_id_column: "id",
    included_columns: ["id", "name"],
    queryable_fields: ["name"],
  };
  ids.job_id = (await post("/typesense/sync-jobs", job)).id;
  const run = await db.pool.query<{ id: string }>(
    "insert into typesense_sync_runs (job_id, trigger) values ($1, 'manual') returning id",
    [ids.job_id],
  );
  ids.run_id = run.rows[0]!.id;
  const letter = await db.pool.query<{ id: string }>(
    `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
     values ($1, 'cdc', '1', 'delete', null, 400, 'x') returning id`,
    [ids.job_id],
  );
  ids.dead_letter_id = letter.rows[0]!.id;
  const key = { name: "k", description: "d", client_name: "app", rights: ["*"] };
  ids.id = (await post("/admin/api-keys", key)).id;
  const target = { profile_id: ids.backend_id };
  bodies = {
    "post /typesense/sync-jobs": { ...job, collection_name: ts.uniqueName("other") },
    "patch /typesense/sync-jobs/{job_id}": job,
    "post /typesense/backends": { name: "emu2", base_url: ts.url, api_key: ts.apiKey },
    "patch /typesense/backends/{backend_id}": { name: "emu", base_url: ts.url, api_key: "k" },
    "post /typesense/backends/test": target,
    "post /typesense/collections/list": target,
    "post /typesense/search": {
      source_client_name: "app",
      source_schema_name: "public",
      source_table_name: "items",
    },
    "post /admin/api-keys": { ...key, name: "k2" },
    "patch /admin/api-keys/{id}": key,
  };
});

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
interface Op {
  parameters?: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Case {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  /** The field the message must name: "param.job_id", "query.q", "body.rights.0". */
  field: string;
}

const isType = (s: Schema, t: string) =>
  s.type === t || (Array.isArray(s.type) && s.type.includes(t));

/**
 * Dotted paths of every string (or string-array element) field of a body
 * schema. A recursive schema (a document spec's nested lookups) is followed
 * once: a $ref already being expanded on the way down is not expanded again.
 */
function stringFields(
  s: Schema,
  refs: Record<string, Schema>,
  at: string[] = [],
  open: ReadonlySet<string> = new Set(),
): string[][] {
  if (s.$ref) {
    const name = s.$ref.split("/").pop()!;
    return open.has(name) ? [] : stringFields(refs[name]!, refs, at, new Set([...open, name]));
  }
  const subs = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
  const out = subs.flatMap((x) => stringFields(x, refs, at, open));
  if (isType(s, "string") && at.length > 0) out.push(at);
  if (isType(s, "array") && s.items) out.push(...stringFields(s.items, refs, [...at, "0"], open));
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    out.push(...stringFields(v, refs, [...at, k], open));
  }
  return out;
}

/** A copy of `body` with BAD at `path` (arrays and objects created on the way). */
function withBad(body: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const copy = structuredClone(body);
  let cur: Record<string, unknown> = copy;
  path.forEach((seg, i) => {
    if (i === path.length - 1) {
      cur[seg] = BAD;
      return;
    }
    const nextIsIndex = /^\d+$/.test(path[i + 1]!);
    const next = cur[seg];
    cur[seg] =
      nextIsIndex && Array.isArray(next)
        ? [...next]
        : typeof next === "object" && next
          ? next
          : nextIsIndex
            ? []
            : {};
    cur = cur[seg] as Record<string, unknown>;
  });
  return copy;
}

function casesOf(doc: {
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, Schema> };
}): Case[] {
  const out: Case[] = [];
  for (const [tpl, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const label = `${method} ${tpl}`;
      const params = op.parameters ?? [];
      const fill = (bad?: string) =>
        tpl.replace(/\{(\w+)\}/g, (_m, n: string) =>
          encodeURIComponent(n === bad ? BAD : (ids[n] ?? "00000000-0000-4000-8000-000000000000")),
        );
      const schema = op.requestBody?.content["application/json"]?.schema;
      const base = bodies[label] ?? {};
      const body = schema ? base : undefined;
      for (const p of params) {
        if (p.in === "path") {
          out.push({ label, method, path: fill(p.name), body, field: `param.${p.name}` });
        } else if (p.in === "query") {
          const q = `?${p.name}=${encodeURIComponent(BAD)}`;
          out.push({ label, method, path: `${fill()}${q}`, body, field: `query.${p.name}` });
        }
      }
      for (const f of schema ? stringFields(schema, doc.components.schemas) : []) {
        const b = withBad(base, f);
        out.push({ label, method, path: fill(), body: b, field: `body.${f.join(".")}` });
      }
    }
  }
  return out;
}

describe("NUL characters are 400 naming the field, on every route", () => {
  it("every path parameter, query parameter and JSON string field of the OpenAPI document", async () => {
    const doc = (await (await t.app.request("/openapi.json")).json()) as Parameters<
      typeof casesOf
    >[0];
    const cases = casesOf(doc);
    // the generator reached every kind of input
    expect(cases.filter((c) => c.field.startsWith("param.")).length).toBeGreaterThan(15);
    expect(cases.filter((c) => c.field.startsWith("query.")).length).toBeGreaterThan(8);
    expect(cases.filter((c) => c.field.startsWith("body.")).length).toBeGreaterThan(50);
    expect(cases.map((c) => c.field)).toContain("body.included_columns.0");
    const wrong: string[] = [];
    for (const c of cases) {
      const init =
        c.body === undefined
          ? { method: c.method.toUpperCase(), headers: admin }
          : jsonInit(c.method.toUpperCase(), c.body, admin);
      const res = await t.app.request(c.path, init);
      const j = (await res.json()) as { message: string; error?: { issues?: { path: string }[] } };
      const named = j.message.includes(c.field) && j.error?.issues?.some((i) => i.path === c.field);
      if (res.status !== 400 || !named) {
        wrong.push(`${c.label} ${c.field}: ${res.status} ${j.message}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(cap.lines().filter((l) => l.includes("unhandled error"))).toEqual([]);
  });

  it("a NUL in a JSON key, nested deep, is named too", async () => {
    const res = await t.app.request(
      "/typesense/search",
      jsonInit("POST", { ...bodies["post /typesense/search"], [`q${"\u0000"}`]: "x" }, admin),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("body.q\\u0000");
  });

  it("auth still comes first: a NUL body with no key is 401", async () => {
    const res = await t.app.request("/typesense/search", jsonInit("POST", { q: BAD }));
    expect(res.status).toBe(401);
  });
});
