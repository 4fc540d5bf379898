import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * Control-table SQL lives in the repositories (issue 14 item 4, DESIGN
 * section 2): a statement naming a `typesense_*` table (or view, function)
 * or an `api_key*` column belongs in src/db/repositories/ (or src/db/, the
 * migration runner). A new file with such SQL fails this test.
 *
 * Read with a regex like the other architecture tests: comments are
 * stripped, then every string literal (quotes or backticks) counts that uses
 * such a table in a statement (`from typesense_x`, `update typesense_x`,
 * `select typesense_f(`) or reads or writes an api_key* column.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/**
 * Files that still hold control-table SQL: what is LEFT of the move. Empty now:
 * every statement lives in db/. Kept (typed) so a deliberate exception has one
 * place to be named; an entry whose file holds no SQL fails the test.
 */
const NOT_YET_MOVED: string[] = [];

/** Where control-table SQL belongs. */
const HOME = ["db/"];

/** Statements on a control table, view or function (prose naming a table does not count). */
const TABLE_SQL = [
  /\b(insert\s+into|update|delete\s+from|alter\s+table|create\s+table|drop\s+table|lock\s+table|truncate)\s+(only\s+)?(typesense_|api_key)[a-z0-9_]*/i,
  /\bselect\b[\s\S]*\b(from|join)\s+(typesense_|api_key)[a-z0-9_]*/i,
  /\bselect\b[^;]*\btypesense_[a-z0-9_]+\s*\(/i,
];
/** A statement reading or writing an api_key* column. */
const KEY_SQL =
  /\b(select|returning|set|where)\s+[^;]*?\bapi_key[a-z0-9_]*\s*(=|,|\)|\bfrom\b|\bis\s+(not\s+)?null)/i;
const STRING = /`(?:\\[\s\S]|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g;

const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Whether a file's text holds a string literal of control-table SQL. */
function holdsControlSql(text: string): boolean {
  for (const m of withoutComments(text).matchAll(STRING)) {
    if (TABLE_SQL.some((r) => r.test(m[0])) || KEY_SQL.test(m[0])) return true;
  }
  return false;
}

/** Files (relative to src/) outside the repositories that hold control-table SQL. */
function filesWithControlSql(): string[] {
  return sourceFiles(SRC)
    .map((f) => relative(SRC, f).split("\\").join("/"))
    .filter((rel) => !HOME.some((h) => rel.startsWith(h)))
    .filter((rel) => holdsControlSql(readFileSync(join(SRC, rel), "utf8")))
    .sort();
}

describe("control-table SQL placement", () => {
  it("recognizes control-table SQL in a string and ignores comments and other tables", () => {
    expect(holdsControlSql("q(`select * from typesense_sync_jobs where id = $1`)")).toBe(true);
    expect(holdsControlSql(`q("update typesense_profiles set api_key_stored = $2")`)).toBe(true);
    expect(holdsControlSql("// select * from typesense_sync_jobs\nconst a = 1;")).toBe(false);
    expect(holdsControlSql("q(`select * from orders`)")).toBe(false);
    expect(holdsControlSql(`throw new Error("typesense_sync_jobs row missing")`)).toBe(false);
    expect(holdsControlSql(`summary("Update a backend; a new api_key replaces it")`)).toBe(false);
    expect(holdsControlSql("q(`select typesense_sync_manifest_partition($1)`)")).toBe(true);
    expect(holdsControlSql("x(`sampled from typesense_cdc_streams while open`)")).toBe(false);
    expect(holdsControlSql("q(`select id, api_key_last4 from backends`)")).toBe(true);
  });

  it("no file outside src/db holds control-table SQL, except the named files not moved yet", () => {
    const stray = filesWithControlSql().filter((f) => !NOT_YET_MOVED.includes(f));
    expect(stray, "move these statements into src/db/repositories/").toEqual([]);
  });

  it("every file on the not-yet-moved list still holds such SQL (the list only shrinks)", () => {
    const found = new Set(filesWithControlSql());
    expect(NOT_YET_MOVED.filter((f) => !found.has(f))).toEqual([]);
  });
});

/**
 * Files allowed to write BEGIN themselves: the ONE transaction helper, and
 * the manifest build, whose transaction spans a COPY stream opened and closed
 * in separate steps (db/transaction.ts says why).
 */
const OWN_TRANSACTIONS = ["db/repositories/manifest-build.ts", "db/transaction.ts"];

/** A query call whose statement starts a transaction (any options, any quote). */
const BEGIN_CALL = /\.query\(\s*[`"']\s*(begin|start\s+transaction)\b/i;

const holdsOwnTransaction = (text: string) => BEGIN_CALL.test(withoutComments(text));

describe("transactions", () => {
  it("recognizes a hand-written BEGIN and not other strings", () => {
    expect(holdsOwnTransaction('await c.query("begin");')).toBe(true);
    expect(holdsOwnTransaction("await c.query(`BEGIN READ ONLY`);")).toBe(true);
    expect(
      holdsOwnTransaction("await c.query('start transaction isolation level serializable')"),
    ).toBe(true);
    expect(holdsOwnTransaction('switch (m.tag) { case "begin": return 1; }')).toBe(false);
    expect(holdsOwnTransaction("// await c.query('begin')")).toBe(false);
  });

  it("only the transaction helper (and the manifest's COPY build) writes BEGIN", () => {
    const own = sourceFiles(SRC)
      .map((f) => relative(SRC, f).split("\\").join("/"))
      .filter((rel) => holdsOwnTransaction(readFileSync(join(SRC, rel), "utf8")))
      .sort();
    expect(own, "use inTransaction / inClientTransaction (src/db/transaction.ts)").toEqual(
      OWN_TRANSACTIONS,
    );
  });
});
