import { describe, expect, it } from "vitest";
import { sqlFragmentProblem } from "../../../src/documents/index.js";

/*
 * Operator SQL is pasted into the rendering statement (also a COPY over the
 * simple protocol): a fragment must not leave its parentheses.
 */
describe("sqlFragmentProblem", () => {
  it("accepts expressions whose ; -- /* ( ) are inside quoted text", () => {
    for (const ok of [
      "round(price * 100)::bigint",
      "status = 'a;b' and title <> 'x--y'",
      "note = 'it''s (open'",
      `"we;ird" is not null`,
      "E'back\\\\slash \\' ;' <> title",
      "$$;)--$$ <> title",
      "$t$ ) ; $t$ || title",
      "position desc, sku",
    ]) {
      expect({ ok, problem: sqlFragmentProblem(ok) }).toEqual({ ok, problem: null });
    }
  });

  it("refuses a second statement, comments and unbalanced parentheses outside quotes", () => {
    expect(sqlFragmentProblem("1; drop table x")).toMatch(/';' is not allowed/);
    expect(sqlFragmentProblem("1 -- rest")).toMatch(/comments/);
    expect(sqlFragmentProblem("1 /* x */")).toMatch(/comments/);
    expect(sqlFragmentProblem("1) to stdout; copy (select 1")).toMatch(/unbalanced '\)'/);
    expect(sqlFragmentProblem("(1")).toMatch(/unbalanced '\('/);
    expect(sqlFragmentProblem("'open")).toMatch(/unterminated string/);
    expect(sqlFragmentProblem("$a$ open")).toMatch(/unterminated dollar/);
    expect(sqlFragmentProblem("E'\\' ; 1")).toMatch(/unterminated string/);
  });
});
