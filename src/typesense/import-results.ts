import { parseJson, serializeDocument } from "../json/codec.js";
import { TypesenseError } from "./errors.js";
import type { Document } from "./types.js";

/**
 * One line of an import answer. Typesense answers 200 even when every line
 * failed, so each line is checked: `ok: false` carries Typesense's per-document
 * status (400 validation, 404 update of a missing id, 409 create of an existing
 * id, ...) and its message. `id` is the document's id ("" when the line had no
 * readable id, e.g. invalid JSON).
 */
export type ImportLineResult =
  | { ok: true; id: string }
  | { ok: false; code: number; error: string; id: string };

export type ImportAction = "upsert" | "emplace" | "create" | "update";

/** JSONL body plus a lazy id lookup per line (pre-serialized lines are parsed only when needed). */
export function importBody(docs: readonly Document[] | readonly string[]): {
  body: string;
  idOf: (i: number) => string;
} {
  const lines: string[] = new Array(docs.length);
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    if (typeof d !== "string") {
      // serializeDocument writes compact JSON of an object: never empty, and
      // every newline inside a string value is escaped, so no check is needed.
      lines[i] = serializeDocument(d);
      continue;
    }
    // One result line per non-empty input line: an empty line or an embedded
    // newline would shift every later result onto the wrong document.
    if (d.trim() === "" || d.includes("\n")) {
      throw new TypeError(`import line ${i} is empty or contains a newline`);
    }
    lines[i] = d;
  }
  const idOf = (i: number): string => {
    const d = docs[i];
    if (d === undefined) return "";
    if (typeof d !== "string") return d.id;
    try {
      const v = parseJson(d);
      if (v && typeof v === "object" && !Array.isArray(v) && typeof v.id === "string") return v.id;
    } catch {
      // invalid JSON: Typesense reports it on that line
    }
    return "";
  };
  return { body: lines.join("\n"), idOf };
}

/** Parses every result line; exactly one per input line, in input order. */
export function parseImportResults(
  text: string,
  expected: number,
  idOf: (i: number) => string,
): ImportLineResult[] {
  if (expected > 0 && text === allSuccess(expected)) {
    // every line is `{"success":true}` (an import without return_id)
    const out: ImportLineResult[] = new Array(expected);
    for (let i = 0; i < expected; i++) out[i] = { ok: true, id: idOf(i) };
    return out;
  }
  const lines: string[] = [];
  for (const l of text.split("\n")) if (l.trim() !== "") lines.push(l);
  if (lines.length !== expected) {
    throw new TypesenseError({
      message: `import answered ${lines.length} result line(s) for ${expected} document(s)`,
      kind: "reply",
      retryable: false,
    });
  }
  return lines.map((line, i): ImportLineResult => {
    const fastId = successLineId(line);
    if (fastId !== undefined) return { ok: true, id: fastId };
    const r = resultObject(line);
    if (r === null) {
      // the line itself is not shown: it is the remote's text, not Typesense's
      throw new TypesenseError({
        message: `import result line ${i} is not a Typesense result object`,
        kind: "reply",
        retryable: false,
      });
    }
    const id = typeof r.id === "string" ? r.id : idOf(i);
    if (r.success === true) return { ok: true, id };
    return {
      ok: false,
      code: typeof r.code === "number" ? r.code : 400,
      error: typeof r.error === "string" ? r.error : "import failed without a message",
      id,
    };
  });
}

type ResultLine = { success?: unknown; code?: unknown; error?: unknown; id?: unknown };

/** The line as a JSON object; null when it is not JSON or not an object. */
function resultObject(line: string): ResultLine | null {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as ResultLine) : null;
  } catch {
    return null;
  }
}

/** `{"success":true}` n times, "\n"-separated: Typesense's answer when every line imported. */
let allSuccessCache = { n: 0, text: "" };
function allSuccess(n: number): string {
  if (allSuccessCache.n !== n) {
    allSuccessCache = { n, text: `${'{"success":true}\n'.repeat(n - 1)}{"success":true}` };
  }
  return allSuccessCache.text;
}

const SUCCESS_HEAD = '{"id":"';
const SUCCESS_TAIL = '","success":true}';

/**
 * The id of a plain success line `{"id":"<id>","success":true}` (what
 * Typesense answers with return_id, keys sorted), when the id needs no JSON
 * unescaping; undefined for anything else, which JSON.parse then handles.
 * Same result as the parse for every line it accepts; it skips one JSON.parse
 * and one object per imported document.
 */
function successLineId(line: string): string | undefined {
  if (!line.startsWith(SUCCESS_HEAD) || !line.endsWith(SUCCESS_TAIL)) return undefined;
  const end = line.length - SUCCESS_TAIL.length;
  if (end < SUCCESS_HEAD.length) return undefined;
  for (let k = SUCCESS_HEAD.length; k < end; k++) {
    const c = line.charCodeAt(k);
    // a quote, backslash or control character needs the real parser (or makes the line invalid)
    if (c === 34 || c === 92 || c < 32) return undefined;
  }
  return line.slice(SUCCESS_HEAD.length, end);
}
