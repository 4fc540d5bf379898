import { describe, expect, it } from "vitest";
import {
  documentBody,
  documentFromText,
  documentText,
} from "../../src/console/document-designer.js";

describe("the document editor's text and the API body", () => {
  it("empty text is no spec: nothing is sent, unless a stored spec is removed (null)", () => {
    const empty = documentFromText("   ");
    expect(empty).toEqual({ text: "", spec: null });
    expect(documentBody(empty)).toEqual({});
    expect(documentBody(empty, null)).toEqual({});
    expect(documentBody(empty, { fields: [] })).toEqual({ document: null });
  });

  it("JSON text is sent as the spec; text that is not JSON says why", () => {
    const spec = { fields: [{ name: "title", column: "title" }] };
    expect(documentBody(documentFromText(JSON.stringify(spec)), spec)).toEqual({ document: spec });
    expect(documentFromText("{fields").error).toMatch(/^not valid JSON: /);
  });

  it("a stored spec is shown as indented JSON; none as empty text", () => {
    expect(documentText(null)).toBe("");
    expect(documentText(undefined)).toBe("");
    expect(documentText({ filter: "x" })).toBe('{\n  "filter": "x"\n}');
  });
});
