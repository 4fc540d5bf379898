import { describe, expect, it } from "vitest";
import { canonical } from "../../../src/control/declarative/plan.js";

describe("canonical (what plan compares values by)", () => {
  // jsonb gives an object's keys back in its own order (a document spec read
  // back is not the file's order): the same spec must not read as a change
  it("an object equals itself with its keys in another order, at any depth", () => {
    const file = {
      fields: [{ name: "title", column: "title", facet: true }],
      filter: "x",
      collection: { b: 1, a: 2 },
    };
    const stored = {
      collection: { a: 2, b: 1 },
      filter: "x",
      fields: [{ facet: true, column: "title", name: "title" }],
    };
    expect(canonical(stored)).toBe(canonical(file));
  });

  it("array order still counts (queryable_fields, children order)", () => {
    expect(canonical(["a", "b"])).not.toBe(canonical(["b", "a"]));
  });
});
