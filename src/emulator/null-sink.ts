/**
 * The fast null sink's line reader: answers an import line without parsing it.
 *
 * A null sink exists to discard documents at minimal cost while answering like Typesense's
 * import. For the usual line (a compact JSON object with a plain string `id`) that answer
 * depends only on the id, so the line is scanned, not parsed: `{...}` shape, the top-level
 * `"id":"..."` key, and nothing else. Every line this reader cannot vouch for (not `{...}`, no
 * or an odd id, escapes, whitespace around the id key) gets undefined and takes the full
 * parse-and-validate path, so those lines get Typesense's exact answer (Bad JSON, id errors).
 * What the fast sink does NOT check: JSON syntax between the braces and the schema (field
 * types, required fields); `--null-sink=validate` does (docs/emulator.md).
 */
import { isAscii } from "node:buffer";

/** Sentinel: the line is an object without an `"id"` key (an auto id applies). */
export const NO_ID = "";

/** "No further occurrence": beyond any line end (a small integer, so it stays a V8 Smi). */
const NONE = 0x3fffffff;

const KEY = '"id":';
const SAMPLE = 512;

/**
 * Scans the lines of a body's texts, each text's lines in increasing order; one scanner per
 * request. Per line it needs the first backslash, the first and second `"id":` and maybe the
 * first `"id"` at or after the line start; searching each line for them (several passes over
 * every line) cost most of the sink's CPU. Instead each is the next occurrence in the whole
 * text, kept between lines and searched again only once the lines have passed it, so a typical
 * line costs one search: the one for a second key, which finds the next line's key. Invariant:
 * a kept position p was found as the first occurrence at or after some x <= the current line's
 * start, so when p >= start it is also the first at or after start (NONE: none left).
 */
export class LineScanner {
  #s = "";
  #backslash = -1;
  #key = -1;
  #quotedId = -1;
  /** `"id":` is searched as KEY.slice(#anchor), see anchorFor. */
  #anchor: number;
  #needle = KEY;

  /** `anchor` (0, 1, 2 or 4, for tests): the needle; by default anchorFor the first text. */
  constructor(anchor = -1) {
    if (![-1, 0, 1, 2, 4].includes(anchor)) throw new RangeError(`bad anchor ${anchor}`);
    this.#anchor = anchor;
    if (anchor >= 0) this.#needle = KEY.slice(anchor);
  }

  /** Starts on a new text (positions from an earlier one are meaningless). */
  reset(text: string): void {
    this.#s = text;
    this.#backslash = -1;
    this.#key = -1;
    this.#quotedId = -1;
    // chosen on the first text: the texts of a request are pieces of one body, alike
    if (this.#anchor < 0) {
      this.#anchor = anchorFor(text);
      this.#needle = KEY.slice(this.#anchor);
    }
  }

  /**
   * The top-level string id of the line text[start, end) (no "\n" inside), NO_ID when the line
   * has no `"id"` key at all, or undefined when the full parser must decide (including every
   * malformed case). Calls must come in increasing `start` order, without overlapping lines.
   */
  lineId(start: number, end: number): string | undefined {
    const s = this.#s;
    if (
      end - start < 2 ||
      s.charCodeAt(start) !== 123 /* { */ ||
      s.charCodeAt(end - 1) !== 125 /* } */
    ) {
      return undefined;
    }
    // None of the needles below contains `}`, so an occurrence starting before `end` (where
    // the line's final `}` is) also ends inside the line.
    // Any backslash may hide or fake an id key (`{"\u0069d":..}`, `{"a\"id":..}`, a second,
    // escaped `"i\u0064"` after the real one): only the parser can tell, so every line with an
    // escape falls back (the sidecar's documents rarely have one; the answer is then exact,
    // just slower).
    if (this.#backslash < start) this.#backslash = found(s.indexOf("\\", start));
    if (this.#backslash < end) return undefined;
    if (this.#key < start) this.#key = this.#nextKey(start);
    const k = this.#key; // after start, since text[start] is `{`
    if (k >= end) {
      // `"id" :` (whitespace) or an id elsewhere: let the parser decide
      if (this.#quotedId < start) this.#quotedId = found(s.indexOf('"id"', start));
      return this.#quotedId < end ? undefined : NO_ID;
    }
    // `"id":` can only be a key (a string value cannot hold an unescaped quote); it is the
    // top-level object's key when no other `{` opens before it. A `{` inside a string before
    // it only costs the fallback.
    if (k > start + 1 && s.lastIndexOf("{", k) !== start) return undefined;
    // A repeated top-level key: the parser keeps the last one, so it decides. This search
    // usually finds the next line's key, which that line then uses without searching.
    this.#key = this.#nextKey(k + 5);
    if (this.#key < end) return undefined;
    const idStart = k + 6;
    if (s.charCodeAt(idStart - 1) !== 34 /* " */) return undefined; // not a string, or spaced
    let i = idStart;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) break;
      // an escape needs unescaping; a raw control character makes the line invalid JSON
      if (c === 92 || c < 32) return undefined;
    }
    // no closing quote in the line, or an empty id ("" is an error)
    if (i === end || i === idStart) return undefined;
    return s.slice(idStart, i);
  }

  /** The first `"id":` at or after `from` (a needle match at i is a key at i - anchor). */
  #nextKey(from: number): number {
    const s = this.#s;
    const a = this.#anchor;
    for (let i = s.indexOf(this.#needle, from + a); i >= 0; i = s.indexOf(this.#needle, i + 1)) {
      const k = i - a;
      // the needle matched KEY from `a` on, and every needle ends with KEY's `:`
      if (
        s.charCodeAt(k) === 34 &&
        s.charCodeAt(k + 1) === 105 &&
        s.charCodeAt(k + 2) === 100 &&
        s.charCodeAt(k + 3) === 34
      ) {
        return k;
      }
    }
    return NONE;
  }
}

/**
 * Which suffix of KEY to search for in `text`: `"id":` (0), `id":` (1), `d":` (2) or `:` (4).
 * A substring search jumps from one occurrence of the needle's first character to the next and
 * pays ~6 ns for each (~10 ns for `:`, a single character found by one search call per hit),
 * so the cheapest needle is the one whose first character is rarest in these documents: `i` in
 * hex digests and numbers, `d` or `:` in prose, where `"` is also often rarer than `i`. Counted
 * on the first SAMPLE characters of a request's first text; any choice finds the same keys.
 */
function anchorFor(text: string): number {
  let quote = 0;
  let i = 0;
  let d = 0;
  let colon = 0;
  const n = Math.min(text.length, SAMPLE);
  for (let j = 0; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 34) quote++;
    else if (c === 105) i++;
    else if (c === 100) d++;
    else if (c === 58) colon++;
  }
  let best = 0;
  let cost = quote;
  if (i < cost) [best, cost] = [1, i];
  if (d < cost) [best, cost] = [2, d];
  return colon * 1.7 < cost ? 4 : best;
}

function found(i: number): number {
  return i < 0 ? NONE : i;
}

/**
 * A body given as its raw chunks, decoded as UTF-8 into strings that each end at a line end
 * (right after a "\n", or at the body's end) and that, concatenated, equal the whole body
 * decoded at once.
 *
 * Why not one string: a ~400 KB body decodes into V8's large-object space, on fresh pages every
 * time, which cost ~0.3 us of CPU per line; a socket chunk (<= 64 KB) decodes into an ordinary
 * young string about 10x cheaper. Why the same characters: 0x0A never occurs inside a UTF-8
 * sequence, and the decoder replaces an invalid or cut-off sequence before a "\n" without
 * consuming the "\n", so decoding line by line gives what decoding the whole gives. A line
 * split between chunks is joined from its bytes first, so no text is decoded from a cut.
 */
export function decodeLines(chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  let pending: Buffer[] = []; // the start of a line that began in an earlier chunk
  for (const c of chunks) {
    let from = 0;
    if (pending.length > 0) {
      const nl = c.indexOf(10);
      if (nl < 0) {
        pending.push(c);
        continue;
      }
      pending.push(c.subarray(0, nl + 1));
      out.push(decode(Buffer.concat(pending)));
      pending = [];
      from = nl + 1;
    }
    const last = c.lastIndexOf(10) + 1; // >= from: the "\n" at from - 1 counts
    if (last > from) out.push(decode(c.subarray(from, last)));
    if (last < c.length) pending.push(c.subarray(last));
  }
  if (pending.length > 0) out.push(decode(Buffer.concat(pending)));
  return out;
}

/** ASCII bytes read as latin1 give the same string as UTF-8, by a plain copy. */
function decode(b: Buffer): string {
  return b.toString(isAscii(b) ? "latin1" : "utf8");
}
