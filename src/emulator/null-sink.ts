/**
 * The fast null sink's line reader: answers an import line without parsing it.
 *
 * A null sink exists to discard documents at minimal cost while answering like Typesense's
 * import. For the usual line (a compact JSON object with a plain string `id`) that answer
 * depends only on the id, so the line is scanned, not parsed: `{...}` shape, the top-level
 * `"id":"..."` key, and nothing else. Every line this reader cannot vouch for (not `{...}`, no
 * or an odd id, escapes, whitespace around the id key) returns undefined and takes the full
 * parse-and-validate path, so those lines get Typesense's exact answer (Bad JSON, id errors).
 * What the fast sink does NOT check: JSON syntax between the braces and the schema (field
 * types, required fields); `--null-sink=validate` does (docs/emulator.md).
 */

/** Sentinel: the line is an object without an `"id"` key (an auto id applies). */
export const NO_ID = "";

const ID_KEY = '"id":';

/**
 * The top-level string id of `line`, NO_ID when the line has no `"id"` key at all, or
 * undefined when the full parser must decide (including every malformed case).
 */
export function scanLineId(line: string): string | undefined {
  const n = line.length;
  if (n < 2 || line.charCodeAt(0) !== 123 /* { */ || line.charCodeAt(n - 1) !== 125 /* } */) {
    return undefined;
  }
  // Any backslash may hide or fake an id key (`{"\u0069d":..}`, `{"a\"id":..}`,
  // a second, escaped `"i\u0064"` after the real one): only the parser can
  // tell, so every line with an escape falls back (the sidecar's documents
  // rarely have one; the answer is then exact, just slower).
  if (line.includes("\\")) return undefined;
  const k = line.indexOf(ID_KEY, 1);
  if (k < 0) {
    // `"id" :` (whitespace) or an id elsewhere: let the parser decide
    return line.includes('"id"') ? undefined : NO_ID;
  }
  // `"id":` can only be a key (a string value cannot hold an unescaped quote); it is the
  // top-level object's key when no other `{` opens before it. A `{` inside a string before it
  // only costs the fallback.
  if (line.lastIndexOf("{", k) !== 0) return undefined;
  // a repeated top-level key: the parser keeps the last one, so it decides
  if (line.indexOf(ID_KEY, k + ID_KEY.length) >= 0) return undefined;
  const start = k + ID_KEY.length + 1;
  if (line.charCodeAt(start - 1) !== 34 /* " */) return undefined; // not a string, or spaced
  const end = line.indexOf('"', start);
  if (end <= start) return undefined; // empty id ("" is an error) or unterminated
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    // an escape needs unescaping; a raw control character makes the line invalid JSON
    if (c === 92 || c < 32) return undefined;
  }
  return line.slice(start, end);
}
